import Posix
import Testing

// Polling before sleeping: on only while the loop was busy at least half of the last period, never
// when its span is 0, and off again once the loop goes idle.
@testable import EventLoop

@Suite struct BusyPollTests {
    static let millisecond: UInt64 = 1_000_000

    @Test func itIsOnAfterAPeriodBusyAtLeastHalfTheTimeAndOffAfterOneThatWasNot() {
        var poll = BusyPoll(span: 50_000, now: 0)
        poll.worked(from: 0, to: 30 * Self.millisecond)
        #expect(!poll.isOn, "the period has not ended yet")
        poll.worked(from: 80 * Self.millisecond, to: 100 * Self.millisecond)
        #expect(poll.isOn, "50 ms of 100 were busy")
        poll.worked(from: 160 * Self.millisecond, to: 210 * Self.millisecond)
        #expect(!poll.isOn, "50 ms of 110 were busy")
        poll.worked(from: 210 * Self.millisecond, to: 310 * Self.millisecond)
        #expect(poll.isOn, "the whole period was busy")
        poll.worked(from: 400 * Self.millisecond, to: 449 * Self.millisecond)
        #expect(!poll.isOn, "49 ms of 139 were busy")
    }

    @Test func aSpanOfZeroNeverPolls() {
        var poll = BusyPoll(span: 0, now: 0)
        poll.worked(from: 0, to: 200 * Self.millisecond)
        #expect(!poll.isOn)
    }

    /// A real loop whose handler works 2 ms a turn starts polling within a few periods; once the work
    /// stops and only a timer wakes it, it stops polling again. With a span of 0 it never polls.
    @Test(arguments: [UInt64(50_000), 0])
    func aBusyLoopPollsAndAnIdleOneSleeps(span: UInt64) throws {
        let loop = try EventLoop(tick: Self.millisecond)
        loop.busyPollNanoseconds = span
        let work = try EventFD()
        var isWorking = true
        var turns = 0
        let handler = loop.addHandler { _, _ in
            turns += 1
            if !isWorking { return work.drain() }
            let start = Clock.monotonicNanoseconds()
            while Clock.monotonicNanoseconds() - start < 2 * Self.millisecond {}
        }
        let tick = loop.addTimerHandler { _ in }
        try loop.register(work.id, interest: .readable, handler: handler)
        work.signal() // stays readable until drained: every turn runs the handler

        let busyUntil = Clock.monotonicNanoseconds() + 3_000 * Self.millisecond
        while !loop.isBusyPolling, Clock.monotonicNanoseconds() < busyUntil { try loop.runTurn() }
        if span == 0 {
            // As long as a loop with a span would take to start polling, and more.
            let until = Clock.monotonicNanoseconds() + 300 * Self.millisecond
            while Clock.monotonicNanoseconds() < until { try loop.runTurn() }
            #expect(!loop.isBusyPolling)
            return
        }
        #expect(loop.isBusyPolling, "busy for 2 ms of every turn for 3 s, and not polling")

        isWorking = false
        let idleUntil = Clock.monotonicNanoseconds() + 3_000 * Self.millisecond
        while loop.isBusyPolling, Clock.monotonicNanoseconds() < idleUntil {
            _ = loop.arm(tick, at: loop.now + 20 * Self.millisecond)
            try loop.runTurn()
        }
        #expect(!loop.isBusyPolling, "idle for 3 s, woken only by a timer, and still polling")
        #expect(turns > 0)
    }
}
