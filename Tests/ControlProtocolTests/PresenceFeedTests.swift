// PresenceFeed as tables: each scenario is a list of steps (an event arriving, or the timer firing)
// with the seqs watchers see after each step; times are in seconds for reading, nanoseconds inside.
import ControlProtocol
import Testing

private enum Step {
    /// An event arrives at `at` seconds: seq, kind, id.
    case arrive(UInt64, PresenceEvent.Kind, String, at: Double)
    /// The timer fires at `at` seconds.
    case expire(at: Double)
    /// The daemon stops.
    case flush
}

private func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1_000_000_000) }

/// Runs `steps` on a feed with `grace` seconds; returns the seqs shown after each step.
private func run(grace: Double, _ steps: [Step]) -> [[UInt64]] {
    var feed = PresenceFeed(grace: nanoseconds(grace), gapTimeout: nanoseconds(1))
    return steps.map { step in
        let shown: [PresenceEvent]
        switch step {
        case .arrive(let seq, let kind, let id, let at):
            let event = PresenceEvent(
                seq: seq, kind: kind, timeMS: 0, id: id, peer: "p", worker: 0, reason: kind == .online ? nil : "eof")
            shown = feed.receive(event, now: nanoseconds(at))
        case .expire(let at):
            shown = feed.expire(now: nanoseconds(at))
        case .flush:
            shown = feed.flush()
        }
        return shown.map(\.seq)
    }
}

@Suite struct PresenceFeedTests {
    @Test func withoutGraceEverythingShowsAtOnceInOrder() {
        let shown = run(
            grace: 0,
            [
                .arrive(1, .online, "a", at: 0),
                .arrive(2, .offline, "a", at: 1),
                .arrive(3, .online, "a", at: 1.1),
                .arrive(4, .replaced, "a", at: 1.2),
            ])
        #expect(shown == [[1], [2], [3], [4]])
    }

    @Test func eventsAheadOfAGapWaitForIt() {
        let shown = run(
            grace: 0,
            [
                .arrive(2, .online, "b", at: 0),
                .arrive(3, .offline, "b", at: 0),
                .arrive(1, .online, "a", at: 0.001),
                .arrive(5, .online, "c", at: 0.002),
                .arrive(4, .online, "d", at: 0.003),
            ])
        #expect(shown == [[], [], [1, 2, 3], [], [4, 5]])
    }

    @Test func aGapOpenPastTheTimeoutIsSkippedAndTheLateEventStillShown() {
        var feed = PresenceFeed(grace: 0, gapTimeout: nanoseconds(1))
        let event = { (seq: UInt64) in
            PresenceEvent(seq: seq, kind: .online, timeMS: 0, id: "x\(seq)", peer: "p", worker: 0)
        }
        #expect(feed.receive(event(2), now: nanoseconds(10)).isEmpty)
        #expect(feed.nextDeadline == nanoseconds(11))
        #expect(feed.expire(now: nanoseconds(10.5)).isEmpty)
        #expect(feed.expire(now: nanoseconds(11)).map(\.seq) == [2])
        #expect(feed.nextDeadline == nil)
        #expect(feed.receive(event(1), now: nanoseconds(12)).map(\.seq) == [1])
        #expect(feed.receive(event(3), now: nanoseconds(12)).map(\.seq) == [3])
    }

    @Test func graceDropsAnOfflineAndTheOnlineThatCameBackInTime() {
        let shown = run(
            grace: 2,
            [
                .arrive(1, .online, "a", at: 0),
                .arrive(2, .offline, "a", at: 10),
                .expire(at: 11),
                .arrive(3, .online, "a", at: 11.5),
                .expire(at: 12),
                .expire(at: 20),
            ])
        #expect(shown == [[1], [], [], [], [], []])
    }

    @Test func graceShowsAnOfflineWhenItRunsOutThenTheLateOnline() {
        let shown = run(
            grace: 2,
            [
                .arrive(1, .online, "a", at: 0),
                .arrive(2, .offline, "a", at: 10),
                .arrive(3, .online, "b", at: 10.5),
                .expire(at: 11.99),
                .expire(at: 12),
                .arrive(4, .online, "a", at: 12.5),
            ])
        #expect(shown == [[1], [], [3], [], [2], [4]])
    }

    @Test func graceHoldsEachIDOnItsOwnAndNeverHoldsReplaced() {
        let shown = run(
            grace: 1,
            [
                .arrive(1, .offline, "a", at: 0),
                .arrive(2, .offline, "b", at: 0.5),
                .arrive(3, .replaced, "c", at: 0.6),
                .arrive(4, .online, "b", at: 0.7),
                .expire(at: 1.0),
                .expire(at: 1.5),
            ])
        #expect(shown == [[], [], [3], [], [1], []])
    }

    @Test func aNewSessionThatGoesOfflineAgainIsHeldAfresh() {
        let shown = run(
            grace: 2,
            [
                .arrive(1, .offline, "a", at: 0),
                .arrive(2, .online, "a", at: 1),
                .arrive(3, .offline, "a", at: 1.5),
                .expire(at: 2),
                .expire(at: 3.5),
            ])
        #expect(shown == [[], [], [], [], [3]])
    }

    @Test func nextDeadlineIsTheEarliestHeldOffline() {
        var feed = PresenceFeed(grace: nanoseconds(2))
        #expect(feed.nextDeadline == nil)
        _ = feed.receive(
            PresenceEvent(seq: 1, kind: .offline, timeMS: 0, id: "a", peer: "p", worker: 0, reason: "eof"),
            now: nanoseconds(5))
        _ = feed.receive(
            PresenceEvent(seq: 2, kind: .offline, timeMS: 0, id: "b", peer: "p", worker: 0, reason: "eof"),
            now: nanoseconds(6))
        #expect(feed.nextDeadline == nanoseconds(7))
        #expect(feed.heldCount == 2)
    }

    @Test func flushShowsEverythingStillWaitingInSeqOrder() {
        let shown = run(
            grace: 5,
            [
                .arrive(1, .offline, "a", at: 0),
                .arrive(3, .online, "c", at: 0),
                .arrive(2, .offline, "b", at: 0),
                .flush,
            ])
        #expect(shown == [[], [], [3], [1, 2]])
        let gap = run(grace: 5, [.arrive(2, .offline, "b", at: 0), .arrive(4, .online, "c", at: 0), .flush])
        #expect(gap == [[], [], [2, 4]])
    }

    @Test func takeInOrderTakesOnlyTheNextEventWithNothingWaiting() {
        func event(_ seq: UInt64, _ kind: PresenceEvent.Kind = .online) -> PresenceEvent {
            PresenceEvent(seq: seq, kind: kind, timeMS: 0, id: "a", peer: "p", worker: 0)
        }
        var feed = PresenceFeed(grace: 0, gapTimeout: nanoseconds(1))
        let first = feed.takeInOrder(event(1))
        let ahead = feed.takeInOrder(event(3)) // ahead of a gap: left to receive, which keeps it
        let kept = feed.receive(event(3), now: 0)
        let behind = feed.takeInOrder(event(2)) // 3 waits behind it
        let filled = feed.receive(event(2), now: 0)
        let next = feed.takeInOrder(event(4))
        let after = feed.receive(event(5), now: 0) // 4 counted as shown
        #expect(first && !ahead && kept.isEmpty && !behind && next)
        #expect(filled.map(\.seq) == [2, 3])
        #expect(after.map(\.seq) == [5])
        var held = PresenceFeed(grace: nanoseconds(5))
        let offline = held.takeInOrder(event(1, .offline)) // with a grace, receive decides
        #expect(!offline)
    }
}
