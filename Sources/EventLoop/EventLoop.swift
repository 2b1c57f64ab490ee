// One worker's event loop: level-triggered epoll plus a timer wheel, one thread, nothing shared.
// It knows nothing of sessions or the protocol: its users register handlers, for descriptors and for
// timers alike. `addHandler` gives a descriptor handler id, `addTimerHandler` a timer handler id; a timer
// is armed for one (`arm(kind, payload, at:)`), its wheel node keeps the id as its tag, and on expiry
// that handler gets the payload. Each user owns all 64 bits of its payloads; nobody routes by guesswork.
// `now` comes from the clock given at init (CLOCK_MONOTONIC unless a test injects its own).
//
// One turn (`runTurn`), top to bottom:
//   1. ask the wheel for its next expiry          → the epoll_wait timeout (-1 when no timer is armed),
//                                                   and the instant the wake-up timerfd is set to
//   2. epoll_wait                                 → EINTR is a non-event
//   3. update `now` once for the whole turn
//   4. dispatch readiness to handlers             → stale events (old generation) are dropped
//   5. advance the wheel to `now`, collect expiries, then hand each to its timer handler
import Posix
import TimerWheel

public final class EventLoop {
    /// Called with the descriptor and what it is ready for.
    public typealias Handler = (DescriptorID, Readiness) -> Void

    /// Called with the payload a timer was armed with, once it expired (after the whole batch was collected,
    /// so it may arm and cancel timers freely).
    public typealias TimerHandler = (UInt64) -> Void

    /// Which of the registered handlers a descriptor's events go to.
    public struct HandlerID: Sendable {
        let index: UInt8
    }

    /// Which of the registered timer handlers a timer's expiry goes to: the timer's kind.
    public struct TimerHandlerID: Sendable {
        let index: UInt8
    }

    /// The instant this turn started dispatching, in nanoseconds on the loop's clock. One read of the
    /// clock per turn.
    public private(set) var now: UInt64

    /// Whether this turn's wait filled every event slot, so more descriptors may be ready than it
    /// dispatched: a timer that would end a session for silence must then look at its socket first.
    public private(set) var mayHaveMoreReady = false

    /// Runs at the end of every turn (the worker publishes "I turned" for the watchdog here).
    public var onTurnEnd: () -> Void = {}

    private let epoll: Epoll
    private let eventsPerWait: Int
    private var wheel: TimerWheel
    // Wakes epoll_wait at the wheel's next expiry on time (see `scheduleWake`); `wakeAt` is what it is set to.
    private let wake: TimerFD
    private var wakeAt: UInt64?
    private let clock: () -> UInt64
    private let isClockInjected: Bool
    private var handlers: [Handler] = []
    private var timerHandlers: [TimerHandler] = []
    // Per descriptor number: the generation of its current registration and its handler.
    private var generations: [UInt32] = []
    private var handlerOf: [UInt8] = []
    private var expired: [TimerExpiry] = []
    /// Set by `stop()`; a test that drives `runTurn` itself reads it to see the loop would end.
    private(set) var isStopped = false

    /// `tick` in nanoseconds and `slots` (a power of two) size the timer wheel. `clock` gives monotonic
    /// nanoseconds, CLOCK_MONOTONIC when nil; a test passes its own to check lateness against instants it
    /// controls (the loop still sleeps in real time, for as long as the injected clock says is left).
    public init(
        tick: UInt64, slots: Int = 4096, eventsPerWait: Int = 512,
        clock: (() -> UInt64)? = nil
    ) throws(SystemError) {
        epoll = try Epoll(capacity: eventsPerWait)
        self.eventsPerWait = eventsPerWait
        wake = try TimerFD()
        self.clock = clock ?? Clock.monotonicNanoseconds
        isClockInjected = clock != nil
        now = self.clock()
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

    /// Watches `descriptor` for `interest` from now on. The kernel refuses EPOLL_CTL_MOD with EINVAL on a
    /// registration made with `.exclusive` (a listener shared by every worker) and when asking for
    /// `.exclusive`; such a change takes the registration out and adds it anew, under the same token.
    public func modify(_ descriptor: DescriptorID, interest: Readiness) throws(SystemError) {
        let data = token(descriptor.index)
        do {
            try epoll.modify(descriptor, interest: interest, data: data)
        } catch  where error.errno == .invalidArgument {
            try? epoll.remove(descriptor)
            try epoll.add(descriptor, interest: interest, data: data)
        }
    }

    /// Stops watching `descriptor`; events for it already returned by this turn's wait are dropped.
    public func unregister(_ descriptor: DescriptorID) {
        generations[descriptor.index] &+= 1
        // Fails only if the descriptor was never added or is already closed: nothing left to undo.
        try? epoll.remove(descriptor)
    }

    /// Stops watching `descriptor` without asking the kernel, because the caller closes it next: closing
    /// the last descriptor of a file takes it out of every epoll set (nginx skips the call the same way).
    /// Only for a file no other descriptor or process holds; one shared (a socket systemd's fd store may
    /// still hold) needs `unregister`. Events already returned by this turn's wait are dropped.
    public func forget(_ descriptor: DescriptorID) {
        generations[descriptor.index] &+= 1
    }

    // MARK: Timers

    public func addTimerHandler(_ handler: @escaping TimerHandler) -> TimerHandlerID {
        precondition(timerHandlers.count < Int(UInt8.max), "too many timer handler kinds")
        timerHandlers.append(handler)
        return TimerHandlerID(index: UInt8(timerHandlers.count - 1))
    }

    /// Arms a timer of `kind`: at the first turn whose `now` reaches the wheel's tick boundary at or after
    /// `deadline` (never early, at most one tick late), `kind`'s handler gets `payload`.
    public func arm(_ kind: TimerHandlerID, _ payload: UInt64 = 0, at deadline: UInt64) -> TimerHandle {
        wheel.arm(payload, tag: kind.index, at: deadline)
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
        now = clock()
        mayHaveMoreReady = count == eventsPerWait
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
        let current = clock()
        if next <= current { return 0 }
        let milliseconds = (next - current + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }

    /// Sets the timerfd to the wheel's next expiry `next`, when that changed. The epoll_wait timeout alone
    /// would let the kernel wake the loop up to 0.1% of the wait late (30 ms on a 30 s wait), and a session
    /// would be reaped that much more than a tick after its deadline; the timeout stays as the backstop.
    private func scheduleWake(at next: UInt64?) {
        guard next != wakeAt else { return }
        var instant = next
        if isClockInjected, let next {
            // The timerfd counts CLOCK_MONOTONIC: set it as far ahead as `next` is on the loop's clock.
            let current = clock()
            instant = Clock.monotonicNanoseconds() &+ (next > current ? next - current : 0)
        }
        do {
            try wake.schedule(at: instant)
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
        for expiry in expired { timerHandlers[Int(expiry.tag)](expiry.payload) }
    }

    func token(_ slot: Int) -> UInt64 {
        UInt64(generations[slot]) << 32 | UInt64(UInt32(slot))
    }
}
