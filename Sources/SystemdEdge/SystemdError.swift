// The systemd edge's one error type: a libsystemd call that failed, or an inherited descriptor
// that is not what the socket unit promised.
import Posix

public enum SystemdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A libsystemd call returned a negative errno.
    case callFailed(call: String, errno: Errno)
    /// A descriptor passed in LISTEN_FDS is not a listening stream socket: a datagram socket,
    /// a FIFO, a file, or a connected socket from a unit with `Accept=yes`.
    case notListeningStreamSocket(descriptor: Int32)

    public var description: String {
        switch self {
        case .callFailed(let call, let errno):
            "\(call): \(errno)"
        case .notListeningStreamSocket(let descriptor):
            "socket activation: fd \(descriptor) from LISTEN_FDS is not a listening stream socket"
                + " (the .socket unit needs ListenStream= and Accept=no)"
        }
    }
}
