import Posix
import Testing

// The event loop: dispatch, stale-event dropping, timers that never fire early, cross-thread mailboxes.
@testable import EventLoop

@Suite struct EventLoopTests {
    @Test func anEventForAnEndedRegistrationIsDroppedEvenWhenTheNumberIsReused() throws {
        let loop = try EventLoop(tick: 1_000_000)
        var delivered: [DescriptorID] = []
        let handler = loop.addHandler { descriptor, _ in delivered.append(descriptor) }

        let number: DescriptorID
        let staleToken: UInt64
        do {
            let first = try EventFD()
            number = first.id
            staleToken = loop.token(try loop.register(number, interest: .readable, handler: handler))
            loop.unregister(number)
        } // `first` is closed here; the kernel hands its number to the next descriptor opened

        let second = try EventFD()
        let secondSlot = try loop.register(second.id, interest: .readable, handler: handler)
        // Other tests open descriptors in parallel, so the number is usually, not always, reused;
        // either way the old registration's event must not be delivered.
        loop.deliver(data: staleToken, readiness: .readable)
        #expect(delivered.isEmpty, "an event queued for the old registration must not reach the new one")

        loop.deliver(data: loop.token(secondSlot), readiness: .readable)
        #expect(delivered == [second.id])
    }

    /// `forget` then close: no epoll_ctl, yet the closed descriptor's events stop and its number is free.
    @Test func aForgottenAndClosedDescriptorIsNeverDeliveredAgain() throws {
        let loop = try EventLoop(tick: 1_000_000)
        var delivered: [DescriptorID] = []
        let handler = loop.addHandler { descriptor, _ in delivered.append(descriptor) }
        let backstop = loop.addTimerHandler { _ in }
        let staleToken: UInt64
        do {
            let first = try EventFD()
            let slot = try loop.register(first.id, interest: .readable, handler: handler)
            first.signal()
            staleToken = loop.token(slot)
            loop.forget(first.id)
        } // closed here, still readable: only the close can have taken it out of the epoll set
        let second = try EventFD()
        try loop.register(second.id, interest: .readable, handler: handler)
        _ = loop.arm(backstop, at: loop.now + 5_000_000)
        try loop.runTurn()
        loop.deliver(data: staleToken, readiness: .readable)
        #expect(delivered.isEmpty)
        second.signal()
        try loop.runTurn()
        #expect(delivered == [second.id])
    }

    /// Slots are the loop's own, dense and reused: a freed slot is handed out again under a new generation,
    /// and an event queued for its previous registration reaches nobody.
    @Test func aReusedSlotDropsTheEventsOfItsPreviousRegistration() throws {
        let loop = try EventLoop(tick: 1_000_000)
        var delivered: [Int] = []
        let handler = loop.addSlotHandler { slot, _ in delivered.append(slot) }
        let first = try EventFD()
        let second = try EventFD()
        let slot = loop.reserve(first.id, handler: handler)
        try loop.watch(slot: slot, interest: .readable)
        let staleToken = loop.token(slot)
        loop.unregister(slot: slot)
        let count = loop.registrations.count
        let reused = loop.reserve(second.id, handler: handler)
        try loop.watch(slot: reused, interest: .readable)
        #expect(reused == slot, "the freed slot is handed out first")
        #expect(loop.registrations.count == count, "no slot is added while one is free")
        #expect(loop.descriptor(slot: reused) == second.id)
        loop.deliver(data: staleToken, readiness: .readable)
        #expect(delivered.isEmpty, "an event queued for the slot's previous registration must not be delivered")
        second.signal()
        try loop.runTurn()
        #expect(delivered == [reused])
    }

    /// Two loops of one process (two workers) see interleaved descriptor numbers, yet each hands out its own
    /// dense slots: neither loop's tables grow with the other's descriptors.
    @Test func twoLoopsSharingDescriptorNumbersEachHandOutDenseSlots() throws {
        let first = try EventLoop(tick: 1_000_000)
        let second = try EventLoop(tick: 1_000_000)
        let firstHandler = first.addSlotHandler { _, _ in }
        let secondHandler = second.addSlotHandler { _, _ in }
        var firstSlots: [Int] = []
        var secondSlots: [Int] = []
        // `reserve` asks nothing of the kernel, so the numbers need not be open: high ones, as late accepts get.
        for number in Int32(15_000)..<15_020 {
            if number % 2 == 0 {
                firstSlots.append(first.reserve(DescriptorID(number: number), handler: firstHandler))
            } else {
                secondSlots.append(second.reserve(DescriptorID(number: number), handler: secondHandler))
            }
        }
        // Slot 0 of each loop is its wake-up timerfd.
        #expect(firstSlots == Array(1...10))
        #expect(secondSlots == Array(1...10))
        #expect(first.registrations.count == 11 && second.registrations.count == 11)
    }

    /// Changing a registration that ended (a paused listener resumed after a drain took it out) fails as
    /// the kernel would, with ENOENT, and leaves the loop as it was.
    @Test func modifyingAnEndedRegistrationFailsWithNoSuchEntry() throws {
        let loop = try EventLoop(tick: 1_000_000)
        let wakeup = try EventFD()
        try loop.register(wakeup.id, interest: .readable, handler: loop.addHandler { _, _ in })
        loop.unregister(wakeup.id)
        #expect(throws: SystemError(call: "epoll_ctl", errno: .noSuchEntry)) {
            try loop.modify(wakeup.id, interest: .readable)
        }
    }

    /// `unwatch` keeps the slot (a hand-off that may fail): its queued events go stale, nothing is
    /// delivered while it is out of epoll, and `watch` brings it back under the same slot.
    @Test func anUnwatchedSlotIsKeptAndWatchedAgain() throws {
        let loop = try EventLoop(tick: 1_000_000)
        var delivered: [Int] = []
        let handler = loop.addSlotHandler { slot, _ in delivered.append(slot) }
        let backstop = loop.addTimerHandler { _ in }
        let wakeup = try EventFD()
        let slot = loop.reserve(wakeup.id, handler: handler)
        try loop.watch(slot: slot, interest: .readable)
        let staleToken = loop.token(slot)
        loop.unwatch(slot: slot)
        wakeup.signal()
        _ = loop.arm(backstop, at: loop.now + 5_000_000)
        try loop.runTurn()
        loop.deliver(data: staleToken, readiness: .readable)
        #expect(delivered.isEmpty)
        let other = try EventFD()
        let otherSlot = try loop.register(other.id, interest: .readable, handler: loop.addHandler { _, _ in })
        #expect(otherSlot != slot, "an unwatched slot is still taken")
        try loop.watch(slot: slot, interest: .readable)
        try loop.runTurn()
        #expect(delivered == [slot])
    }

    @Test func readinessReachesTheRegisteredHandler() throws {
        let loop = try EventLoop(tick: 1_000_000)
        let wakeup = try EventFD()
        var woken = 0
        let handler = loop.addHandler { _, readiness in
            if readiness.contains(.readable) { woken += 1 }
            wakeup.drain()
        }
        try loop.register(wakeup.id, interest: .readable, handler: handler)
        wakeup.signal()
        try loop.runTurn()
        #expect(woken == 1)
    }

    /// A listener shared by every worker is registered with EPOLLEXCLUSIVE, which epoll_ctl(MOD) refuses
    /// (EINVAL): pausing it (an accept that failed with EMFILE) and watching it again must still work.
    @Test func anExclusiveRegistrationCanBePausedAndWatchedAgain() throws {
        let loop = try EventLoop(tick: 1_000_000)
        let wakeup = try EventFD()
        var woken = 0
        let handler = loop.addHandler { _, _ in
            woken += 1
            wakeup.drain()
        }
        let backstop = loop.addTimerHandler { _ in }
        try loop.register(wakeup.id, interest: [.readable, .exclusive], handler: handler)
        try loop.modify(wakeup.id, interest: [])
        wakeup.signal()
        _ = loop.arm(backstop, at: loop.now + 5_000_000)
        try loop.runTurn()
        #expect(woken == 0, "a paused registration must not be delivered")

        try loop.modify(wakeup.id, interest: [.readable, .exclusive])
        try loop.runTurn()
        #expect(woken == 1)
    }

    // On an injected clock the test decides every turn's `now`: an always-readable eventfd makes each
    // epoll_wait return at once, and the clock moves `step` per turn. The timer must fire at the first
    // reading at or past its tick boundary (60 ms: the first boundary >= the 50 ms deadline), never before.
    @Test(arguments: [1_000_000, 3_000_000, 7_000_000] as [UInt64])
    func aTimerFiresNoEarlierThanItsDeadlineAndAtMostOneTickLate(step: UInt64) throws {
        let tick: UInt64 = 20_000_000
        let origin: UInt64 = 5_000_000_000
        let clock = ManualClock(origin)
        let loop = try EventLoop(tick: tick, slots: 64, clock: clock.read)
        let busy = try EventFD()
        try loop.register(busy.id, interest: .readable, handler: loop.addHandler { _, _ in })
        busy.signal()
        var fired: [UInt64] = []
        let kind = loop.addTimerHandler { payload in
            #expect(payload == 42)
            fired.append(loop.now)
        }
        let deadline = origin + 50_000_000
        _ = loop.arm(kind, 42, at: deadline)
        while clock.now < origin + 200_000_000 {
            clock.now += step
            try loop.runTurn()
        }
        #expect(fired.count == 1)
        let at = try #require(fired.first)
        let boundary = origin + 60_000_000
        #expect(at >= deadline, "never early")
        #expect(at >= boundary && at < boundary + step, "at the first turn at or past its boundary")
        #expect(at < deadline + tick, "at most one tick late")
    }

    @Test func eachTimerKindReachesItsOwnHandlerWithItsWholePayload() throws {
        let clock = ManualClock(1_000_000_000)
        let loop = try EventLoop(tick: 1_000_000, slots: 64, clock: clock.read)
        var first: [UInt64] = []
        var second: [UInt64] = []
        let one = loop.addTimerHandler { first.append($0) }
        let two = loop.addTimerHandler { second.append($0) }
        _ = loop.arm(one, .max, at: clock.now + 1_000_000)
        _ = loop.arm(two, .max, at: clock.now + 1_000_000)
        _ = loop.arm(two, 7, at: clock.now + 2_000_000)
        let cancelled = loop.arm(one, 9, at: clock.now + 1_000_000)
        loop.cancel(cancelled)
        clock.now += 3_000_000
        try loop.runTurn()
        #expect(first == [.max])
        #expect(second.sorted() == [7, .max])
    }

    @Test func anIdleLoopSleepsInsteadOfTicking() throws {
        let clock = ManualClock(1_000_000_000)
        let loop = try EventLoop(tick: 1_000_000, clock: clock.read)
        let kind = loop.addTimerHandler { _ in }
        #expect(loop.pollTimeout() == -1)
        let handle = loop.arm(kind, 1, at: clock.now + 1_000_000_000)
        #expect(loop.pollTimeout() == 1_000)
        clock.now += 400_000_000
        #expect(loop.pollTimeout() == 600)
        loop.cancel(handle)
        #expect(loop.pollTimeout() == -1)
    }

    @Test func theDefaultClockIsTheMonotonicOne() throws {
        let before = Clock.monotonicNanoseconds()
        let loop = try EventLoop(tick: 1_000_000)
        #expect(loop.now >= before && loop.now <= Clock.monotonicNanoseconds())
    }

    @Test func aMailboxCarriesMessagesAcrossThreadsInOrder() throws {
        let loop = try EventLoop(tick: 1_000_000)
        let mailbox = try Mailbox<Int>()
        var received: [Int] = []
        try mailbox.attach(to: loop) { received.append($0) }
        let sender = try Thread.start(name: "test-sender") {
            for value in 1...100 { mailbox.post(value) }
        }
        sender.join()
        var turns = 0
        while received.count < 100, turns < 100 {
            try loop.runTurn()
            turns += 1
        }
        #expect(received == Array(1...100))
    }

    /// Posts race the owner's turns: only a post to an empty queue writes the eventfd, and none is lost.
    @Test func aMailboxLosesNoMessagePostedWhileItsOwnerTakesTheQueue() throws {
        let loop = try EventLoop(tick: 1_000_000)
        let mailbox = try Mailbox<Int>()
        var received: [Int] = []
        try mailbox.attach(to: loop) { received.append($0) }
        // A backstop, so a turn whose wake-up was lost ends and the count below shows it.
        let backstop = loop.addTimerHandler { _ in }
        let sender = try Thread.start(name: "test-sender") {
            for value in 1...20_000 { mailbox.post(value) }
        }
        let giveUp = Clock.monotonicNanoseconds() + 30_000_000_000
        while received.count < 20_000, Clock.monotonicNanoseconds() < giveUp {
            _ = loop.arm(backstop, at: loop.now + 20_000_000)
            try loop.runTurn()
        }
        sender.join()
        // One more turn takes whatever is left; its own backstop, because the last one may have fired
        // already (armed against the previous turn's `now`), and a turn with no timer and no message
        // would wait forever.
        _ = loop.arm(backstop, at: loop.now + 20_000_000)
        try loop.runTurn()
        #expect(received == Array(1...20_000))
    }
}

/// A clock that moves only when the test moves it.
final class ManualClock {
    var now: UInt64
    init(_ now: UInt64) { self.now = now }
    var read: () -> UInt64 { { [unowned self] in self.now } }
}
