// What a running client reports: each state change, in order, as values that tell why.

extension HeartbeatClient {
    /// One step of a client's life. `HeartbeatClient.states()` delivers them in the order they happen.
    /// These five cases are the life cycle and stay closed; what can grow — why a connection ended — is an
    /// `Error.Code`, a struct.
    ///
    ///     connecting ─▶ connected ─▶ disconnected ─▶ waiting ─▶ connecting ─▶ …
    ///          └──────────────────────▶ disconnected            (connect, TLS or HELLO failed)
    ///     any state ─▶ stopped                                   (shutdown, cancellation, or a failure retrying cannot fix)
    public enum State: Sendable, Equatable, CustomStringConvertible {
        /// Resolving, connecting (and TLS) and saying HELLO. `attempt` counts the failures since the backoff
        /// was last reset (0 for a first try).
        case connecting(attempt: Int)
        /// The server answered `OK`: the client beats at `grant.interval`.
        case connected(Grant)
        /// The connection ended or could not be made; the error's code says why.
        case disconnected(Error)
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

    /// Why a client stopped.
    public enum Stop: Sendable, Equatable, CustomStringConvertible {
        /// A graceful shutdown (swift-service-lifecycle, or `shutDownGracefully()`): the client said `BYE`
        /// and waited up to `byeTimeout` for `BYE bye`, if it was connected. `run()` returns.
        case shutDown
        /// The task running `run()` was cancelled: the connection was closed at once. `run()` returns.
        case cancelled
        /// A failure that reconnecting cannot fix (auth, a refused HELLO, `BYE replaced` with `.stop`);
        /// `run()` throws it.
        case failed(Error)

        public var description: String {
            switch self {
            case .shutDown: "shut down"
            case .cancelled: "cancelled"
            case .failed(let error): "\(error)"
            }
        }
    }
}
