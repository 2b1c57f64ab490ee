// The wire protocol's one error type: what a client got wrong, as the ERR code it is answered with
// plus a short human-readable detail.

/// The codes of `ERR <code> [text]` lines. All but `unknownCommand` end the session.
public enum ErrorCode: String, Sendable {
    case badHello = "bad-hello"
    case authFailed = "auth-failed"
    case serverFull = "server-full"
    case helloTimeout = "hello-timeout"
    case lineTooLong = "line-too-long"
    case badLine = "bad-line"
    case unknownCommand = "unknown-command"
}

/// A line the protocol cannot accept. Each case carries what the client needs to fix it:
/// the limit it exceeded, or a detail naming the offending byte, word or option.
public enum ProtocolError: Error, Equatable, Sendable {
    /// `limit` bytes arrived without a `\n`: the line, with its `\n`, would be longer than `limit`.
    case lineTooLong(limit: Int)
    /// A byte that is not printable ASCII, or a PING/BYE with words it does not take.
    case badLine(String)
    /// A HELLO with a missing or malformed id, or a bad, unknown or repeated option.
    case badHello(String)
    /// An AUTH line without exactly one word of 64 hex digits: answered `ERR auth-failed <detail>`.
    case badAuth(String)

    /// The code of the `ERR` line that answers this error.
    public var code: ErrorCode {
        switch self {
        case .lineTooLong: .lineTooLong
        case .badLine: .badLine
        case .badHello: .badHello
        case .badAuth: .authFailed
        }
    }

    /// The text after the code in the `ERR` line.
    public var detail: String {
        switch self {
        case .lineTooLong(let limit): "limit \(limit) bytes"
        case .badLine(let detail), .badHello(let detail), .badAuth(let detail): detail
        }
    }
}
