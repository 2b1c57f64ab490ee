// A side listener (the control socket, /metrics) that cannot accept: paused like the workers' listeners
// (EventLoop's `AcceptPause`), so it does not wake the supervisor's loop again at once, forever, with a log
// line each time; the failure is logged once a second at most.
import EventLoop
import Logging
import Posix

extension AcceptPause {
    /// After a failed accept on `listener` (nil when there is none), which the log calls `what`.
    func sideListenerFailed(_ error: SystemError, listener: DescriptorID?, what: String, logger: Logger) {
        if let unlogged = recordFailure() {
            let more = unlogged == 0 ? "" : " (\(unlogged) more since the last line)"
            logger.warning("\(what): accept failed: \(error)\(more); pausing it for \(Self.pause / 1_000_000) ms")
        }
        if let listener { pause(listener) }
    }
}
