// The values a worker works with, in its own units (nanoseconds, bytes), derived from a Config.
// A reload sends a new Settings to every worker; what cannot change live is not in here.
import HeartbeatConfig
import Logging
import Posix

struct Settings: Sendable {
    var interval: UInt64
    var intervalMin: UInt64
    var intervalMax: UInt64
    var timeoutFactor: UInt64
    var helloTimeout: UInt64
    var pong: Bool
    var maxLine: Int
    var maxClients: Int
    var maxClientsPerAddress: Int
    var logSessions: Bool
    var logLevel: Logger.Level
    var keepalive: TCPKeepalive
    var drainTimeout: UInt64
    /// `[auth] mode = "hmac"`: HELLO must carry the token for its id (see Auth.swift).
    var requiresToken: Bool
    /// The secret the executable read from the secret file; nil with auth on fails every HELLO closed.
    var authSecret: [UInt8]?

    init(_ config: Config, authSecret: [UInt8]? = nil) {
        interval = nanoseconds(config.heartbeat.interval)
        intervalMin = nanoseconds(config.heartbeat.intervalMin)
        intervalMax = nanoseconds(config.heartbeat.intervalMax)
        timeoutFactor = UInt64(config.heartbeat.timeoutFactor)
        helloTimeout = nanoseconds(config.heartbeat.helloTimeout)
        pong = config.heartbeat.pong
        maxLine = config.limits.maxLine
        maxClients = config.limits.maxClients
        maxClientsPerAddress = config.limits.maxClientsPerAddress
        logSessions = config.log.sessions
        logLevel = Logger.Level(config.log.level)
        keepalive = TCPKeepalive(
            idleSeconds: Int32(clamping: nanoseconds(config.tcp.keepaliveIdle) / 1_000_000_000),
            intervalSeconds: Int32(clamping: nanoseconds(config.tcp.keepaliveInterval) / 1_000_000_000),
            count: Int32(clamping: config.tcp.keepaliveCount),
            userTimeoutMilliseconds: Int32(clamping: nanoseconds(config.tcp.userTimeout) / 1_000_000)
        )
        drainTimeout = nanoseconds(config.drainTimeout)
        requiresToken = config.auth.mode == .hmac
        self.authSecret = requiresToken ? authSecret : nil
    }

    /// The interval a client gets: its proposal clamped to [min, max], or the default.
    func grantedInterval(proposedMilliseconds: UInt64?) -> UInt64 {
        guard let proposed = proposedMilliseconds else { return interval }
        let (value, overflow) = proposed.multipliedReportingOverflow(by: 1_000_000)
        return min(max(overflow ? intervalMax : value, intervalMin), intervalMax)
    }
}

func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
}

extension Logger.Level {
    init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}
