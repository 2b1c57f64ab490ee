// The client library's one error type: why a client stopped for good instead of reconnecting.

/// Why `HeartbeatClient.run()` ended, other than cancellation. Reconnecting cannot fix any of these.
public enum HeartbeatClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configuration cannot produce a valid HELLO (an id with a forbidden byte, a token that is
    /// not hex, a bad endpoint); the detail names the fault.
    case invalidConfiguration(String)
    /// The server answered `ERR auth-failed`: the token is missing or wrong for this id.
    case authFailed(detail: String)
    /// The server refused the HELLO itself (`ERR bad-hello`): the same HELLO will be refused again.
    case rejected(code: String, detail: String)
    /// The server said `BYE replaced`: another client took over this id, and this client was
    /// configured not to fight back (`ReplacedPolicy.stop`).
    case replaced
    /// `run()` was called while the client was already running or after it had stopped.
    case alreadyRunning

    public var description: String {
        switch self {
        case .invalidConfiguration(let detail): "invalid configuration: \(detail)"
        case .authFailed(let detail):
            detail.isEmpty
                ? "authentication failed (ERR auth-failed)" : "authentication failed (ERR auth-failed: \(detail))"
        case .rejected(let code, let detail):
            detail.isEmpty
                ? "server refused the HELLO (ERR \(code))" : "server refused the HELLO (ERR \(code): \(detail))"
        case .replaced: "another client took over this id (BYE replaced)"
        case .alreadyRunning: "run() was already called on this client"
        }
    }
}
