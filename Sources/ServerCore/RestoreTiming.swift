// How a takeover's restore went, worker by worker, for the successor's one log line: each worker reports
// when its last handed-over session is back, and the last of them hands the whole to `Server.start`'s
// `onRestored`.
import Posix
import Synchronization

/// How the workers' restore went, reported once the last worker has every handed-over session back.
public struct RestoreTiming: Sendable {
    /// When the last worker finished (CLOCK_MONOTONIC nanoseconds).
    public var finishedAt: UInt64 = 0
    /// Time spent registering sessions (epoll, wheel, registry), summed over the workers.
    public var registering: UInt64 = 0
    /// The most rounds one worker took; between two, its loop turned and answered what had come in.
    public var rounds = 0
    /// Workers that have not finished yet.
    var pending: Int
}

extension Shared {
    /// A worker has every handed-over session back after `rounds` rounds and `registering` nanoseconds in
    /// them; the last one to say so gives `onRestored` the whole.
    func restored(rounds: Int, registering: UInt64, report: @Sendable (RestoreTiming) -> Void) {
        let whole = restoring.withLock { timing -> RestoreTiming? in
            timing.rounds = max(timing.rounds, rounds)
            timing.registering += registering
            timing.pending -= 1
            guard timing.pending == 0 else { return nil }
            timing.finishedAt = Clock.monotonicNanoseconds()
            return timing
        }
        if let whole { report(whole) }
    }
}
