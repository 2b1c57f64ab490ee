// Full-jitter backoff as a pure function: ceilings, bounds and spread, with injected fractions.
import HeartbeatClient
import TestSupport
import Testing

@Suite struct BackoffTests {
    @Test(arguments: [
        (0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (7, 60), (1_000_000, 60),
    ])
    func ceilingDoublesUpToTheCap(attempt: Int, seconds: Int) {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(60))
        #expect(backoff.ceiling(attempt: attempt) == .seconds(Int64(seconds)))
    }

    @Test func ceilingOfABaseThatDoesNotDivideTheCap() {
        let backoff = Backoff(base: .milliseconds(300), cap: .seconds(1))
        #expect(
            (0...4).map { backoff.ceiling(attempt: $0) } == [
                .milliseconds(300), .milliseconds(600), .seconds(1), .seconds(1), .seconds(1),
            ])
    }

    @Test(arguments: [
        (0.0, 0), (0.25, 2_000), (0.5, 4_000), (1.0, 8_000), (-3.0, 0), (7.5, 8_000), (Double.nan, 0),
    ])
    func delayIsTheFractionOfTheCeilingClampedToIt(fraction: Double, milliseconds: Int) {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(60))
        #expect(backoff.delay(attempt: 3, fraction: fraction) == .milliseconds(Int64(milliseconds)))
    }

    @Test func delaysFromARandomSourceStayWithinBoundsAndSpreadOverTheWindow() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
        var random = SplitMix64(state: 42)
        for attempt in 0..<12 {
            let ceiling = backoff.ceiling(attempt: attempt)
            let delays = (0..<500).map { _ in backoff.delay(attempt: attempt, fraction: random.nextFraction()) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            // Full jitter: the whole window is used, not a band near the ceiling.
            #expect(delays.min()! < ceiling * 0.05)
            #expect(delays.max()! > ceiling * 0.95)
            let below = delays.filter { $0 < ceiling / 2 }.count
            #expect((175...325).contains(below), "attempt \(attempt): \(below) of 500 below half the ceiling")
        }
    }
}
