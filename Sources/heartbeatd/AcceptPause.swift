// A side listener (the control socket, /metrics) that cannot accept: EMFILE and the like leave the
// connection queued, so a level-triggered listener would wake the supervisor's loop again at once, forever,
// with a log line each time. This stops watching it for a moment instead, and logs once a second at most.
import EventLoop
import Logging
import Posix

final class AcceptPause {
    /// How long the listener is not watched after a failed accept; the workers' listeners use the same.
    static let pause: UInt64 = 100_000_000
    private let loop: EventLoop
    private let what: String
    private let logger: Logger
    private var resumeKind: EventLoop.TimerHandlerID!
    /// The listener watched, nil while there is none.
    var listener: DescriptorID? {
        didSet { isPaused = false }
    }
    private var isPaused = false
    private var lastLog: UInt64?
    /// Failed accepts not logged since the last line.
    private var unlogged = 0

    /// One timer kind for the owner's lifetime, whatever listeners come and go.
    init(loop: EventLoop, what: String, logger: Logger) {
        self.loop = loop
        self.what = what
        self.logger = logger
        resumeKind = loop.addTimerHandler { [unowned self] _ in
            // A timer left from a closed listener finds none paused, or resumes its successor early: harmless.
            guard isPaused, let listener else { return }
            isPaused = false
            try? self.loop.modify(listener, interest: .readable)
        }
    }

    /// After a failed accept: pause the listener, log if the last line is a second old.
    func failed(_ error: SystemError) {
        let now = loop.now
        if let lastLog, now &- lastLog < 1_000_000_000 {
            unlogged += 1
        } else {
            let more = unlogged == 0 ? "" : " (\(unlogged) more since the last line)"
            logger.warning("\(what): accept failed: \(error)\(more); pausing it for 100 ms")
            lastLog = now
            unlogged = 0
        }
        guard !isPaused, let listener else { return }
        try? loop.modify(listener, interest: [])
        isPaused = true
        _ = loop.arm(resumeKind, at: now + Self.pause)
    }
}
