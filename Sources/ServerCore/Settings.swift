// The values a worker works with, in its own units (nanoseconds, bytes). The executable builds them
// from its configuration (heartbeatd's Settings+Config.swift); ServerCore knows no config file.
// A reload sends a new Settings to every worker; what cannot change live is Server.init's arguments.
import Logging
import Posix
import TLS

/// Whether `token` (nil when HELLO carried none) proves `id`. The executable decides how; the core
/// only asks, before the registry claim, so a wrong token can never end a live session.
public typealias Authenticate = @Sendable (_ id: String, _ token: String?) -> Bool

/// Whether `mac` (the 32 bytes AUTH spelled) answers the CHALLENGE `nonce` (its 32 hex digits as sent)
/// for `id`. Asked before the registry claim, like `Authenticate`.
public typealias VerifyChallenge = @Sendable (_ id: String, _ nonce: String, _ mac: [UInt8]) -> Bool

/// How a client proves its id (`[auth] mode`).
public enum AuthPolicy: Sendable {
    /// Every id is taken at its word.
    case off
    /// HELLO carries `token=`: replayable by whoever sees it.
    case token(Authenticate)
    /// HELLO, then `CHALLENGE <nonce>`, then `AUTH <mac>`: nothing replayable crosses the wire.
    case challenge(VerifyChallenge)
}

public struct Settings: Sendable {
    public var interval: UInt64
    public var intervalMin: UInt64
    public var intervalMax: UInt64
    public var timeoutFactor: UInt64
    public var helloTimeout: UInt64
    public var pong: Bool
    public var maxLine: Int
    public var maxClients: Int
    public var maxClientsPerAddress: Int
    /// New connections per second per source network (an IPv4 /24, an IPv6 /64); 0: no limit.
    public var connectRate: Int = 0
    /// The most a network may open at once before `connectRate` paces it; at least 1 when the rate is on.
    public var connectBurst: Int = 0
    /// How long a worker's loop polls before it sleeps while it is at least half busy (EventLoop's
    /// BusyPoll), in nanoseconds; 0: never.
    public var busyPoll: UInt64 = 0
    public var logSessions: Bool
    public var logLevel: Logger.Level
    public var keepalive: TCPKeepalive
    public var drainTimeout: UInt64
    public var auth: AuthPolicy
    /// Ids refused in every auth mode (`[auth] revoked`); a reload ends their live sessions (reason `revoked`).
    public var revoked: Set<String>
    /// The TLS listeners' context (certificate chain, key, client CA); a reload sends a new one, and
    /// connections accepted after it use it. nil when there are no TLS listeners.
    public var tls: TLSContext?
    /// How long a TLS handshake may take, in nanoseconds; then the HELLO deadline starts.
    public var handshakeTimeout: UInt64

    /// Durations in nanoseconds, sizes in bytes.
    public init(
        interval: UInt64, intervalMin: UInt64, intervalMax: UInt64, timeoutFactor: UInt64, helloTimeout: UInt64,
        pong: Bool, maxLine: Int, maxClients: Int, maxClientsPerAddress: Int, logSessions: Bool,
        logLevel: Logger.Level, keepalive: TCPKeepalive, drainTimeout: UInt64, auth: AuthPolicy = .off,
        revoked: Set<String> = [], tls: TLSContext? = nil, handshakeTimeout: UInt64 = 5_000_000_000
    ) {
        self.interval = interval
        self.intervalMin = intervalMin
        self.intervalMax = intervalMax
        self.timeoutFactor = timeoutFactor
        self.helloTimeout = helloTimeout
        self.pong = pong
        self.maxLine = maxLine
        self.maxClients = maxClients
        self.maxClientsPerAddress = maxClientsPerAddress
        self.logSessions = logSessions
        self.logLevel = logLevel
        self.keepalive = keepalive
        self.drainTimeout = drainTimeout
        self.auth = auth
        self.revoked = revoked
        self.tls = tls
        self.handshakeTimeout = handshakeTimeout
    }

    /// The interval a client gets: its proposal clamped to [min, max], or the default.
    func grantedInterval(proposedMilliseconds: UInt64?) -> UInt64 {
        guard let proposed = proposedMilliseconds else { return interval }
        let (value, overflow) = proposed.multipliedReportingOverflow(by: 1_000_000)
        return min(max(overflow ? intervalMax : value, intervalMin), intervalMax)
    }
}
