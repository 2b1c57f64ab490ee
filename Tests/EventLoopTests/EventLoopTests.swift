// The event loop: dispatch, stale-event dropping, timers that never fire early, cross-thread mailboxes.
@testable import EventLoop
import Posix
import Testing

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
            try loop.register(number, interest: .readable, handler: handler)
            staleToken = loop.token(number.index)
            loop.unregister(number)
        }  // `first` is closed here; the kernel hands its number to the next descriptor opened

        let second = try EventFD()
        try loop.register(second.id, interest: .readable, handler: handler)
        // Other tests open descriptors in parallel, so the number is usually, not always, reused;
        // either way the old registration's event must not be delivered.
        loop.deliver(data: staleToken, readiness: .readable)
        #expect(delivered.isEmpty, "an event queued for the old registration must not reach the new one")

        loop.deliver(data: loop.token(second.id.index), readiness: .readable)
        #expect(delivered == [second.id])
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

    @Test func aTimerFiresNoEarlierThanItsDeadlineAndAtMostOneTickLate() throws {
        let tick: UInt64 = 20_000_000
        let loop = try EventLoop(tick: tick, slots: 64)
        var firedAt: UInt64?
        loop.onExpiry = { payload in
            #expect(payload == 42)
            firedAt = Clock.monotonicNanoseconds()
        }
        let deadline = Clock.monotonicNanoseconds() + 50_000_000
        _ = loop.arm(42, at: deadline)
        var turns = 0
        while firedAt == nil, turns < 100 {
            try loop.runTurn()
            turns += 1
        }
        let fired = try #require(firedAt)
        #expect(fired >= deadline)
        // The wheel hands it out at its tick boundary, before deadline + tick; the loop's `now` is what it compares.
        #expect(loop.now < deadline + tick + 5_000_000 || turns <= 3)
    }

    @Test func anIdleLoopSleepsInsteadOfTicking() throws {
        let loop = try EventLoop(tick: 1_000_000)
        #expect(loop.pollTimeout() == -1)
        let handle = loop.arm(1, at: Clock.monotonicNanoseconds() + 1_000_000_000)
        #expect(loop.pollTimeout() > 900)
        loop.cancel(handle)
        #expect(loop.pollTimeout() == -1)
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
}
