// One worker's event loop: level-triggered epoll plus a timer wheel, one thread, nothing shared.
// It knows nothing of sessions or the protocol: the server registers handlers and timer payloads.
//
// One turn (`runTurn`), top to bottom:
//   1. ask the wheel for its next expiry          → the epoll_wait timeout (-1 when no timer is armed),
//                                                   and the instant the wake-up timerfd is set to
//   2. epoll_wait                                 → EINTR is a non-event
//   3. update `now` once for the whole turn
//   4. dispatch readiness to handlers             → stale events (old generation) are dropped
//   5. advance the wheel to `now`, collect expiries, then hand each to `onExpiry`
import Posix
import TimerWheel

public final class EventLoop {
    /// Called with the descriptor and what it is ready for.
    public typealias Handler = (DescriptorID, Readiness) -> Void

    /// Which of the registered handlers a descriptor's events go to.
    public struct HandlerID: Sendable {
        let index: UInt8
    }

    /// The monotonic instant this turn started dispatching, in nanoseconds. One read of the clock per turn.
    public private(set) var now: UInt64

    /// Receives each expired timer's payload, after the whole batch was collected.
    public var onExpiry: (UInt64) -> Void = { _ in }

    /// Runs at the end of every turn (the worker publishes "I turned" for the watchdog here).
    public var onTurnEnd: () -> Void = {}

    private let epoll: Epoll
    private var wheel: TimerWheel
    // Wakes epoll_wait at the wheel's next expiry on time (see `scheduleWake`); `wakeAt` is what it is set to.
    private let wake: TimerFD
    private var wakeAt: UInt64?
    private var handlers: [Handler] = []
    // Per descriptor number: the generation of its current registration and its handler.
    private var generations: [UInt32] = []
    private var handlerOf: [UInt8] = []
    private var expired: [UInt64] = []
    private var isStopped = false

    /// `tick` in nanoseconds and `slots` (a power of two) size the timer wheel.
    public init(tick: UInt64, slots: Int = 4096, eventsPerWait: Int = 512) throws(SystemError) {
        epoll = try Epoll(capacity: eventsPerWait)
        wake = try TimerFD()
        now = Clock.monotonicNanoseconds()
        wheel = TimerWheel(tick: tick, slots: slots, now: now)
        expired.reserveCapacity(1024)
        let wakeHandler = addHandler { [unowned self] _, _ in self.wake.drain() }
        try register(wake.id, interest: .readable, handler: wakeHandler)
    }

    // MARK: Registration

    public func addHandler(_ handler: @escaping Handler) -> HandlerID {
        precondition(handlers.count < Int(UInt8.max), "too many handler kinds")
        handlers.append(handler)
        return HandlerID(index: UInt8(handlers.count - 1))
    }

    /// Starts watching `descriptor`. A new generation makes every event still queued for an
    /// earlier registration of the same number stale.
    public func register(_ descriptor: DescriptorID, interest: Readiness, handler: HandlerID) throws(SystemError) {
        let slot = descriptor.index
        if slot >= generations.count {
            let grown = Swift.max(slot + 1, generations.count * 2, 64)
            generations.append(contentsOf: repeatElement(0, count: grown - generations.count))
            handlerOf.append(contentsOf: repeatElement(0, count: grown - handlerOf.count))
        }
        generations[slot] &+= 1
        handlerOf[slot] = handler.index
        try epoll.add(descriptor, interest: interest, data: token(slot))
    }

    public func modify(_ descriptor: DescriptorID, interest: Readiness) throws(SystemError) {
        try epoll.modify(descriptor, interest: interest, data: token(descriptor.index))
    }

    /// Stops watching `descriptor`; events for it already returned by this turn's wait are dropped.
    public func unregister(_ descriptor: DescriptorID) {
        generations[descriptor.index] &+= 1
        // Fails only if the descriptor was never added or is already closed: nothing left to undo.
        try? epoll.remove(descriptor)
    }

    // MARK: Timers

    public func arm(_ payload: UInt64, at deadline: UInt64) -> TimerHandle {
        wheel.arm(payload, at: deadline)
    }

    public func cancel(_ handle: TimerHandle) {
        wheel.cancel(handle)
    }

    public var tick: UInt64 { wheel.tick }

    // MARK: Running

    /// Runs turns until `stop()` is called from a handler. Only a broken epoll instance ends it with an error.
    public func run() throws(SystemError) {
        isStopped = false
        while !isStopped { try runTurn() }
    }

    public func stop() { isStopped = true }

    public func runTurn() throws(SystemError) {
        let next = wheel.nextExpiry()
        scheduleWake(at: next)
        let count = try epoll.wait(timeoutMilliseconds: pollTimeout(until: next))
        now = Clock.monotonicNanoseconds()
        dispatch(count)
        expireTimers()
        onTurnEnd()
    }

    /// Milliseconds until the wheel's next expiry, rounded up so the wheel is never asked early; -1 when idle.
    func pollTimeout() -> Int32 {
        pollTimeout(until: wheel.nextExpiry())
    }

    private func pollTimeout(until next: UInt64?) -> Int32 {
        guard let next else { return -1 }
        let current = Clock.monotonicNanoseconds()
        if next <= current { return 0 }
        let milliseconds = (next - current + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }

    /// Sets the timerfd to the wheel's next expiry `next`, when that changed. The epoll_wait timeout alone
    /// would let the kernel wake the loop up to 0.1% of the wait late (30 ms on a 30 s wait), and a session
    /// would be reaped that much more than a tick after its deadline; the timeout stays as the backstop.
    private func scheduleWake(at next: UInt64?) {
        guard next != wakeAt else { return }
        do {
            try wake.schedule(at: next)
            wakeAt = next
        } catch {
            wakeAt = nil
        }
    }

    func dispatch(_ count: Int) {
        for index in 0..<count {
            let (data, readiness) = epoll.event(at: index)
            deliver(data: data, readiness: readiness)
        }
    }

    /// Hands one event to its handler unless its registration has ended since it was queued.
    func deliver(data: UInt64, readiness: Readiness) {
        let slot = Int(UInt32(truncatingIfNeeded: data))
        let generation = UInt32(truncatingIfNeeded: data >> 32)
        guard slot < generations.count, generations[slot] == generation else { return }
        handlers[Int(handlerOf[slot])](DescriptorID(number: Int32(slot)), readiness)
    }

    private func expireTimers() {
        expired.removeAll(keepingCapacity: true)
        wheel.advance(to: now, into: &expired)
        for payload in expired { onExpiry(payload) }
    }

    func token(_ slot: Int) -> UInt64 {
        UInt64(generations[slot]) << 32 | UInt64(UInt32(slot))
    }
}
