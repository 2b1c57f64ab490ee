// What a HeartbeatClient is told before it runs: where, who, how often, TLS, and how it behaves when the
// connection breaks, when it is replaced and when it leaves.
import NIOCore
import NIOPosix
import NIOSSL

extension HeartbeatClient {
    /// What a client does when the server says `BYE replaced`, i.e. when a newer connection said HELLO
    /// with the same id. A struct with static members, so that a new policy is not a breaking change.
    public struct ReplacedPolicy: Sendable, Equatable, CustomStringConvertible {
        /// nil: stop.
        let delay: Duration?

        /// Stop for good: `run()` throws `Error` with code `.replaced`. The right choice when two instances
        /// with one id are a mistake (a copied device image, say): they must not take turns.
        public static let stop = ReplacedPolicy(delay: nil)
        /// Wait this long, then reconnect (and take the id back). For a client that expects a failover
        /// partner to hold the id for a while.
        public static func backOff(_ delay: Duration) -> ReplacedPolicy { ReplacedPolicy(delay: delay) }

        public var description: String { delay.map { "back off \($0)" } ?? "stop" }
    }

    /// Makes the resolver for one connection attempt (Happy Eyeballs asks it for A and AAAA records). For a
    /// DNS of your own and for tests; ignored on Network.framework, which resolves by itself.
    public typealias ResolverFactory = @Sendable (any EventLoop) -> any Resolver & Sendable

    /// A client's settings. Only the endpoint and the id are required; everything else has a default.
    public struct Configuration: Sendable {
        /// The server to connect to; host names are resolved on every attempt, IPv4 and IPv6 alike.
        public var server: Endpoint
        /// The client id announced in HELLO: 1–64 bytes of `A–Z a–z 0–9 . _ : @ -`.
        public var id: String
        /// The heartbeat interval to propose; nil lets the server choose. The client always beats at the
        /// interval the server grants in its `OK`, which may differ (the server clamps proposals).
        public var interval: Duration?
        /// The HMAC token for servers with `[auth] mode = "hmac"` (hex, as `heartbeatctl token <id>` prints it),
        /// sent in HELLO: anyone who sees it can replay it. Prefer `deviceKey` where the server offers challenge
        /// auth.
        public var token: String?
        /// The device key for servers with `[auth] mode = "challenge"` (the same 64 hex digits
        /// `heartbeatctl token <id>` prints): it answers the server's `CHALLENGE` and never crosses the wire.
        /// Set `token` or `deviceKey`, not both: a challenge server refuses a HELLO that carries a token.
        public var deviceKey: DeviceKey?

        /// TLS for the connection, or nil for plain TCP. `TLSConfiguration.makeClientConfiguration()` verifies
        /// the server against the system's trust store and its name against `server.host`; set `trustRoots`
        /// to `.file(path)` for a private CA, `certificateChain` and `privateKey` for a client certificate.
        public var tls: TLSConfiguration?
        /// The name TLS sends (SNI) and checks the certificate against; nil means `server.host` (an IP
        /// address is then checked against the certificate's IP entries, and no SNI is sent).
        public var tlsServerName: String?

        /// The reconnect schedule: full-jitter exponential backoff.
        public var backoff = Backoff()
        /// A connection must stay up this long before a later failure starts the backoff from attempt 0
        /// again; until then each failure doubles the ceiling, however briefly the client was connected.
        public var resetBackoffAfter: Duration = .seconds(60)
        /// What to do on `BYE replaced`.
        public var onReplaced: ReplacedPolicy = .stop

        /// How long connecting may take (resolving, and Happy Eyeballs over every address), and then again how
        /// long the server's `OK` may take after the connection is up (TLS included).
        public var connectTimeout: Duration = .seconds(10)
        /// After a graceful shutdown, how long to wait for the server's `BYE bye` before closing anyway.
        public var byeTimeout: Duration = .seconds(2)
        /// Treat the server as dead when no line (a PONG, usually) arrives within the granted timeout.
        /// Turn off only for servers run with `pong = false`; TCP keepalive and TCP_USER_TIMEOUT remain.
        public var expectsPongs = true
        /// Set SO_KEEPALIVE (and on Linux TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT) scaled to
        /// the granted timeout, so the kernel also gives up on a peer that vanished.
        public var usesTCPKeepalive = true
        /// nil: the system's resolver (getaddrinfo, off the event loop and off Swift's cooperative pool).
        public var resolver: ResolverFactory?

        public init(server: Endpoint, id: String, interval: Duration? = nil, token: String? = nil) {
            self.server = server
            self.id = id
            self.interval = interval
            self.token = token
        }
    }
}
