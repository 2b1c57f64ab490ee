// A listener that cannot accept (EMFILE and the like leave the connection queued) would wake a
// level-triggered loop again at once, forever, with a log line each time. `AcceptPause` stops watching it
// for a moment instead, and says when a failure is due to be logged (once a second at most).
import Posix

public final class AcceptPause {
    /// How long a listener is not watched after a failed accept.
    public static let pause: UInt64 = 100_000_000
    /// The least time between two logged failures.
    public static let logInterval: UInt64 = 1_000_000_000
    private let loop: EventLoop
    private var resumeKind: EventLoop.TimerHandlerID!
    /// The paused listeners, each with the interest it is watched for again when its pause is over.
    private var paused: [DescriptorID: Readiness] = [:]
    private var lastLog: UInt64?
    /// Failures not logged since the last logged one.
    private var unlogged = 0

    /// One timer kind for the owner's lifetime, whatever listeners come and go. A timer carries its
    /// listener's number.
    public init(loop: EventLoop) {
        self.loop = loop
        resumeKind = loop.addTimerHandler { [unowned self] number in
            let listener = DescriptorID(number: Int32(truncatingIfNeeded: number))
            // A timer left from a forgotten listener finds none paused, or resumes a successor with the same
            // number early: harmless.
            guard let interest = paused.removeValue(forKey: listener) else { return }
            try? self.loop.modify(listener, interest: interest)
        }
    }

    /// Counts a failed accept. Nil while the last logged one is less than `logInterval` old; otherwise
    /// this one is to be logged, and the answer is how many were not since the last line.
    public func recordFailure() -> Int? {
        let now = loop.now
        if let lastLog, now &- lastLog < Self.logInterval {
            unlogged += 1
            return nil
        }
        let skipped = unlogged
        lastLog = now
        unlogged = 0
        return skipped
    }

    /// Stops watching `listener` for `pause`, then watches it for `interest` again. A paused one stays as it is.
    public func pause(_ listener: DescriptorID, resumingWith interest: Readiness = .readable) {
        guard paused[listener] == nil, (try? loop.modify(listener, interest: [])) != nil else { return }
        paused[listener] = interest
        _ = loop.arm(resumeKind, UInt64(listener.index), at: loop.now + Self.pause)
    }

    /// `listener` is closed, or no longer to be watched (a drain): its pause ends without a resume.
    public func forget(_ listener: DescriptorID) {
        paused[listener] = nil
    }
}
