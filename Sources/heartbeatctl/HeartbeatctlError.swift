// heartbeatctl's one error type: what went wrong, as the one line it prints before exiting 1.
import ControlProtocol
import Posix

enum HeartbeatctlError: Error, CustomStringConvertible {
    case cannotConnect(path: String, SystemError)
    /// The connection failed or closed before the answer was complete.
    case connectionLost(SystemError?)
    case noAnswer(seconds: Int)
    /// The daemon answered with an error, or with something that is not the protocol.
    case control(ControlError)
    case secretFile(path: String, String)
    /// `--cluster`: Redis could not be reached or answered an error.
    case redis(String)

    var description: String {
        switch self {
        case .cannotConnect(let path, let error):
            let hint =
                switch error.errno {
                case .permissionDenied: "run as root, as heartbeatd's user or as a member of its [control] group"
                default: "is heartbeatd running, with [control] socket = \"\(path)\"?"
                }
            return "cannot connect to \(path): \(error.errno.meaning); \(hint)"
        case .connectionLost(let error?): return "the connection to heartbeatd failed: \(error)"
        case .connectionLost(nil): return "heartbeatd closed the connection before answering"
        case .noAnswer(let seconds): return "heartbeatd did not answer within \(seconds) s"
        case .control(let error): return error.message
        case .secretFile(let path, let text): return "secret file \(path): \(text)"
        case .redis(let text): return "cluster: \(text)"
        }
    }
}
