import Posix
import Testing

// The pause of a listener that cannot accept: not watched for `AcceptPause.pause`, then watched again; a
// closed one never again; failures logged once a second with the count of those not logged.
@testable import EventLoop

@Suite struct AcceptPauseTests {
    /// A loop on a test clock whose turns return at once (an always-readable eventfd), and a stand-in for a
    /// listener with a connection queued that cannot be accepted: an eventfd that stays readable.
    final class Bench {
        let clock = ManualClock(1_000_000_000)
        let loop: EventLoop
        let busy: EventFD
        let listener: EventFD
        var wakes = 0

        init() throws {
            loop = try EventLoop(tick: 10_000_000, slots: 64, clock: clock.read)
            busy = try EventFD()
            try loop.register(busy.id, interest: .readable, handler: loop.addHandler { _, _ in })
            busy.signal()
            listener = try EventFD()
            listener.signal()
        }

        func watch() throws {
            try loop.register(
                listener.id, interest: .readable, handler: loop.addHandler { [unowned self] _, _ in wakes += 1 })
        }

        /// Moves the clock by `milliseconds`, then runs one turn.
        func turn(after milliseconds: UInt64) throws {
            clock.now += milliseconds * 1_000_000
            try loop.runTurn()
        }
    }

    @Test func aPausedListenerIsNotWatchedUntilItsPauseIsOver() throws {
        let bench = try Bench()
        let pause = AcceptPause(loop: bench.loop)
        try bench.watch()
        try bench.turn(after: 1)
        #expect(bench.wakes == 1)
        pause.pause(bench.listener.id)
        try bench.turn(after: 50)
        try bench.turn(after: 40)
        #expect(bench.wakes == 1, "woken during its pause")
        // Past the pause and its tick: the timer watches it again at the end of this turn, the next one hears it.
        try bench.turn(after: 30)
        try bench.turn(after: 1)
        #expect(bench.wakes == 2)
    }

    @Test func aForgottenListenerIsNotWatchedAgain() throws {
        let bench = try Bench()
        let pause = AcceptPause(loop: bench.loop)
        try bench.watch()
        pause.pause(bench.listener.id)
        pause.forget(bench.listener.id)
        for _ in 0..<4 { try bench.turn(after: 50) }
        #expect(bench.wakes == 0)
    }

    @Test func failuresAreLoggedOnceASecondWithTheCountNotLogged() throws {
        let bench = try Bench()
        let pause = AcceptPause(loop: bench.loop)
        #expect(pause.recordFailure() == 0)
        try bench.turn(after: 100)
        #expect((0..<3).map { _ in pause.recordFailure() } == [nil, nil, nil])
        try bench.turn(after: 900)
        #expect(pause.recordFailure() == 3)
        #expect(pause.recordFailure() == nil)
    }
}
