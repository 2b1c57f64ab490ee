// What a running client reports: each state change, in order, as values that tell why.

/// One step of a client's life. `HeartbeatClient.states()` delivers them in the order they happen.
///
///     connecting ─▶ connected ─▶ disconnected ─▶ waiting ─▶ connecting ─▶ …
///          └──────────────────────▶ disconnected            (connect or HELLO failed)
///     any state ─▶ stopped                                   (cancelled, or a failure retrying cannot fix)
public enum State: Sendable, Equatable, CustomStringConvertible {
    /// Resolving the host, connecting and saying HELLO. `attempt` counts the failures since the
    /// backoff was last reset (0 for a first try).
    case connecting(attempt: Int)
    /// The server answered `OK`: the client beats at `grant.interval`.
    case connected(Grant)
    /// The connection ended or could not be made, and why.
    case disconnected(Disconnect)
    /// Sleeping before the next attempt; `delay` is the jittered backoff actually chosen.
    case waiting(delay: Duration, attempt: Int)
    /// The client will not connect again. The last state of every run.
    case stopped(Stop)

    public var description: String {
        switch self {
        case .connecting(let attempt): attempt == 0 ? "connecting" : "connecting (attempt \(attempt + 1))"
        case .connected(let grant):
            "connected to \(grant.address): interval \(grant.interval), timeout \(grant.timeout)"
        case .disconnected(let why): "disconnected: \(why)"
        case .waiting(let delay, _): "reconnecting in \(delay)"
        case .stopped(let stop): "stopped: \(stop)"
        }
    }
}

/// The values in force for a session, from the server's `OK` line.
public struct Grant: Sendable, Equatable {
    /// How often the client beats.
    public var interval: Duration
    /// How long the server tolerates silence; also how long the client waits for any line before it
    /// treats the server as dead.
    public var timeout: Duration
    /// The numeric address connected to, e.g. `127.0.0.1:7700` or `[::1]:7700`.
    public var address: String

    public init(interval: Duration, timeout: Duration, address: String) {
        self.interval = interval
        self.timeout = timeout
        self.address = address
    }
}

/// Why a connection ended (or never started). All of these are followed by a reconnect, except
/// where `stopped` follows instead.
public enum Disconnect: Sendable, Equatable, CustomStringConvertible {
    /// Name resolution or TCP connect failed for every address of the host, or timed out.
    case connectFailed(String)
    /// Connected, but no `OK` within `connectTimeout`.
    case helloUnanswered
    /// The server sent `BYE <reason>` (`shutdown`, `kicked`, `timeout`, `replaced`, `bye`).
    case bye(reason: String)
    /// The server sent `ERR <code> [text]` and closed.
    case error(code: String, detail: String)
    /// The server closed the connection without a word.
    case closedByServer
    /// A socket error: reset by the peer, a broken pipe, or the kernel's TCP_USER_TIMEOUT.
    case socketError(String)
    /// No line from the server within the granted timeout: it is stopped, overloaded or unreachable.
    case serverSilent(Duration)
    /// The server sent something that is not protocol v1.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .connectFailed(let detail): "connect failed: \(detail)"
        case .helloUnanswered: "no answer to HELLO"
        case .bye(let reason): "server said BYE \(reason)"
        case .error(let code, let detail):
            detail.isEmpty ? "server said ERR \(code)" : "server said ERR \(code) \(detail)"
        case .closedByServer: "server closed the connection"
        case .socketError(let detail): "socket error: \(detail)"
        case .serverSilent(let silence): "server silent for \(silence)"
        case .protocolViolation(let detail): "protocol violation: \(detail)"
        }
    }
}

/// Why a client stopped.
public enum Stop: Sendable, Equatable, CustomStringConvertible {
    /// The task running `run()` was cancelled; the client said BYE if it was connected.
    case cancelled
    /// A failure that reconnecting cannot fix; `run()` throws it.
    case failed(HeartbeatClientError)

    public var description: String {
        switch self {
        case .cancelled: "cancelled"
        case .failed(let error): "\(error)"
        }
    }
}
