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
//   2. epoll_wait                                 → EINTR is a non-event; a busy loop polls first
//   3. update `now` once for the whole turn
//   4. dispatch readiness to handlers             → stale events (old generation) are dropped
//   5. advance the wheel to `now`, collect expiries, then hand each to its timer handler
//   6. count the turn's time: a loop busy half the time polls before its next sleep (BusyPoll.swift)
//
// A registration lives in a slot of this loop's own (Registrations.swift), and the epoll token names the
// slot, not the descriptor number. Most users register by descriptor and change or end the registration
// by descriptor (`register`, `modify`, `unregister`, `forget`). A user holding thousands, the worker's
// sessions, keeps the slot instead: `reserve` + `watch`, then the `slot:` calls, and a slot handler.
import Posix
import TimerWheel

public final class EventLoop {
    /// Called with the descriptor and what it is ready for.
    public typealias Handler = (DescriptorID, Readiness) -> Void

    /// Called with the slot `reserve` gave and what its descriptor is ready for.
    public typealias SlotHandler = (Int, Readiness) -> Void

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

    var epoll: Epoll
    /// Bumped when `setAside` swaps the epoll: the rest of the batch being dispatched is the old one's.
    var epochs = 0
    /// What each registration by descriptor watches for, by slot, so `setAside` can add it to a fresh epoll.
    var interests: [Int: Readiness] = [:]
    let eventsPerWait: Int
    var wheel: TimerWheel
    // Wakes epoll_wait at the wheel's next expiry on time (see `scheduleWake`); `wakeAt` is what it is set to.
    private let wake: TimerFD
    private var wakeAt: UInt64?
    private let clock: () -> UInt64
    private let isClockInjected: Bool
    private var handlers: [(Int, DescriptorID, Readiness) -> Void] = []
    private var timerHandlers: [TimerHandler] = []
    var registrations = Registrations()
    private var expired: [TimerExpiry] = []
    private var busyPoll = BusyPoll(span: 0, now: Clock.monotonicNanoseconds())
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
        handlers.append { _, descriptor, readiness in handler(descriptor, readiness) }
        return HandlerID(index: UInt8(handlers.count - 1))
    }

    public func addSlotHandler(_ handler: @escaping SlotHandler) -> HandlerID {
        precondition(handlers.count < Int(UInt8.max), "too many handler kinds")
        handlers.append { slot, _, readiness in handler(slot, readiness) }
        return HandlerID(index: UInt8(handlers.count - 1))
    }

    /// Starts watching `descriptor`, found by its number from now on (`modify`, `unregister`, `forget`).
    /// Its slot's new generation makes every event still queued for an earlier registration stale.
    @discardableResult
    public func register(_ descriptor: DescriptorID, interest: Readiness, handler: HandlerID) throws(SystemError) -> Int
    {
        let slot = reserve(descriptor, handler: handler)
        do {
            try watch(slot: slot, interest: interest)
        } catch {
            registrations.release(slot)
            throw error
        }
        registrations.named[descriptor.rawValue] = UInt32(slot)
        interests[slot] = interest
        return slot
    }

    /// Watches `descriptor` for `interest` from now on. One not registered by descriptor (or no longer)
    /// fails as epoll_ctl would for a descriptor not in the set, with ENOENT.
    public func modify(_ descriptor: DescriptorID, interest: Readiness) throws(SystemError) {
        guard let slot = registrations.named[descriptor.rawValue] else {
            throw SystemError(call: "epoll_ctl", errno: .noSuchEntry)
        }
        try modify(slot: Int(slot), interest: interest)
    }

    /// Stops watching `descriptor`; events for it already returned by this turn's wait are dropped.
    public func unregister(_ descriptor: DescriptorID) {
        guard let slot = registrations.named.removeValue(forKey: descriptor.rawValue) else { return }
        unregister(slot: Int(slot))
    }

    /// Stops watching `descriptor` without asking the kernel, because the caller closes it next: closing
    /// the last descriptor of a file takes it out of every epoll set (nginx skips the call the same way).
    /// Only for a file no other descriptor or process holds; one shared (a socket systemd's fd store may
    /// still hold) needs `unregister`. Events already returned by this turn's wait are dropped.
    public func forget(_ descriptor: DescriptorID) {
        guard let slot = registrations.named.removeValue(forKey: descriptor.rawValue) else { return }
        forget(slot: Int(slot))
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
        let timeout = pollTimeout(until: next)
        var count = isBusyPolling && timeout != 0 ? try pollBeforeSleeping() : 0
        if count == 0 { count = try epoll.wait(timeoutMilliseconds: timeout) }
        now = clock()
        let woke = isClockInjected ? Clock.monotonicNanoseconds() : now
        mayHaveMoreReady = count == eventsPerWait
        dispatch(count)
        expireTimers()
        onTurnEnd()
        if busyPoll.span > 0 { busyPoll.worked(from: woke, to: Clock.monotonicNanoseconds()) }
    }

    /// How long a busy loop polls for events before it sleeps (BusyPoll.swift), in nanoseconds; 0: never.
    public var busyPollNanoseconds: UInt64 {
        get { busyPoll.span }
        set { busyPoll.span = newValue }
    }

    /// Whether the loop polls before sleeping in the current period (it was at least half busy in the last).
    public var isBusyPolling: Bool { busyPoll.isOn }

    /// Up to `busyPoll.span` of zero-timeout waits, yielding the CPU between two; the number of events the
    /// first non-empty one got, or 0.
    private func pollBeforeSleeping() throws(SystemError) -> Int {
        let start = Clock.monotonicNanoseconds()
        repeat {
            let count = try epoll.wait(timeoutMilliseconds: 0)
            if count > 0 { return count }
            yieldProcessor()
        } while Clock.monotonicNanoseconds() &- start < busyPoll.span
        return 0
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
        let epoch = epochs
        // A handler that sets the epoll aside ends the batch: the rest came from the old one, and
        // level-triggered readiness of what is still watched comes back in the next wait.
        for index in 0..<count where epochs == epoch {
            let (data, readiness) = epoll.event(at: index)
            deliver(data: data, readiness: readiness)
        }
    }

    /// Hands one event to its handler unless its registration has ended since it was queued.
    func deliver(data: UInt64, readiness: Readiness) {
        guard let slot = registrations.slot(of: data) else { return }
        let descriptor = DescriptorID(number: registrations.descriptors[slot])
        handlers[Int(registrations.handlers[slot])](slot, descriptor, readiness)
    }

    private func expireTimers() {
        expired.removeAll(keepingCapacity: true)
        wheel.advance(to: now, into: &expired)
        for expiry in expired { timerHandlers[Int(expiry.tag)](expiry.payload) }
    }

    func token(_ slot: Int) -> UInt64 {
        registrations.token(slot)
    }
}
