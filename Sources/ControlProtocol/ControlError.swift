// The control protocol's one error type: what went wrong with a request, an answer or a watcher, as
// the `error` code and `message` of an error answer line: {"ok":false,"error":<code>,"message":<text>}.

public enum ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `limit` bytes arrived without a `\n`; the connection is closed after the answer.
    case requestTooLong(limit: Int)
    /// A known command with missing, extra or malformed arguments.
    case badRequest(String)
    case unknownCommand(String)
    /// `client` or `kick` named an id with no live session.
    case notConnected(id: String)
    /// The peer's credentials do not allow it to use the socket; the text says who it is and who may.
    case permissionDenied(String)
    /// The configuration could not be read or is invalid; the running one stays.
    case reloadFailed(String)
    /// `upgrade` did not happen (the new binary failed its check, or the exec failed); the old process serves on.
    case upgradeFailed(String)
    /// A watcher fell more than `limit` unsent bytes behind and was disconnected.
    case tooSlow(limit: Int)
    /// More than `limit` control connections at once.
    case busy(limit: Int)
    /// The daemon is stopping.
    case shuttingDown
    /// A line that is not a JSON object, as heartbeatctl read it.
    case badJSON(line: String)
    /// A well-formed line that lacks what the protocol promises (heartbeatctl reading an answer).
    case badAnswer(String)
    /// An error answer as heartbeatctl received it.
    case answered(code: String, message: String)

    /// The `error` member of the answer line.
    public var code: String {
        switch self {
        case .requestTooLong: "request-too-long"
        case .badRequest: "bad-request"
        case .unknownCommand: "unknown-command"
        case .notConnected: "not-connected"
        case .permissionDenied: "permission-denied"
        case .reloadFailed: "reload-failed"
        case .upgradeFailed: "upgrade-failed"
        case .tooSlow: "too-slow"
        case .busy: "busy"
        case .shuttingDown: "shutting-down"
        case .badJSON: "bad-json"
        case .badAnswer: "bad-answer"
        case .answered(let code, _): code
        }
    }

    /// The `message` member: one sentence an operator can act on.
    public var message: String {
        switch self {
        case .requestTooLong(let limit): "a request line may be at most \(limit) bytes including its newline"
        case .badRequest(let text), .permissionDenied(let text), .badAnswer(let text): text
        case .unknownCommand(let verb):
            "unknown command \(verb.debugDescription) (known: status, clients, client, kick, reload, watch, upgrade)"
        case .notConnected(let id): "no client \(id) is connected"
        case .reloadFailed(let text): "reload failed, the running configuration stays: \(text)"
        case .upgradeFailed(let text): "upgrade failed, the running process serves on: \(text)"
        case .tooSlow(let limit): "disconnected: the watcher fell more than \(limit) bytes behind"
        case .busy(let limit): "too many control connections (limit \(limit))"
        case .shuttingDown: "heartbeatd is stopping"
        case .badJSON(let line): "heartbeatd answered with a line that is not a JSON object: \(line.debugDescription)"
        case .answered(_, let message): message
        }
    }

    public var description: String { message }

    /// The error answer line's object.
    public var answer: JSONObject {
        JSONObject(["ok": .bool(false), "error": .string(code), "message": .string(message)])
    }
}
