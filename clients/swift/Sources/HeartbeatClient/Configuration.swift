// What a HeartbeatClient is told before it runs: where, who, how often, and how it behaves when
// the connection breaks, when it is replaced and when it leaves.

/// What a client does when the server says `BYE replaced`, i.e. when a newer connection said HELLO
/// with the same id.
public enum ReplacedPolicy: Sendable, Equatable {
    /// Stop for good: `run()` throws `HeartbeatClientError.replaced`. The right choice when two
    /// instances with one id are a mistake (a copied device image, say): they must not take turns.
    case stop
    /// Wait this long, then reconnect (and take the id back). For a client that expects a failover
    /// partner to hold the id for a while.
    case backOff(Duration)
}

/// A client's settings. Only the endpoint and the id are required; everything else has a default.
public struct Configuration: Sendable {
    /// The server to connect to; host names are resolved on every attempt, IPv4 and IPv6 alike.
    public var server: Endpoint
    /// The client id announced in HELLO: 1–64 bytes of `A–Z a–z 0–9 . _ : @ -`.
    public var id: String
    /// The heartbeat interval to propose; nil lets the server choose. The client always beats at the
    /// interval the server grants in its `OK`, which may differ (the server clamps proposals).
    public var interval: Duration?
    /// The HMAC token for servers with auth on (hex, as `heartbeatctl token <id>` prints it).
    public var token: String?

    /// The reconnect schedule: full-jitter exponential backoff.
    public var backoff = Backoff()
    /// A connection must stay up this long before a later failure starts the backoff from attempt 0
    /// again; until then each failure doubles the ceiling, however briefly the client was connected.
    public var resetBackoffAfter: Duration = .seconds(60)
    /// What to do on `BYE replaced`.
    public var onReplaced: ReplacedPolicy = .stop

    /// How long one attempt may take from `connect` to the server's `OK`, over all the host's addresses.
    public var connectTimeout: Duration = .seconds(10)
    /// After a cancellation, how long to wait for the server's `BYE bye` before closing anyway.
    public var byeTimeout: Duration = .seconds(2)
    /// Treat the server as dead when no line (a PONG, usually) arrives within the granted timeout.
    /// Turn off only for servers run with `pong = false`; TCP keepalive and TCP_USER_TIMEOUT remain.
    public var expectsPongs = true
    /// Set SO_KEEPALIVE and TCP_USER_TIMEOUT on the socket, scaled to the granted timeout, so the
    /// kernel also gives up on a peer that vanished (unacknowledged PINGs, silent network).
    public var usesTCPKeepalive = true

    public init(server: Endpoint, id: String, interval: Duration? = nil, token: String? = nil) {
        self.server = server
        self.id = id
        self.interval = interval
        self.token = token
    }
}
