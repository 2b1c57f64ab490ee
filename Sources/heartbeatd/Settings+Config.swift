// The configuration file's model translated into what ServerCore takes: its Settings (nanoseconds,
// bytes, swift-log's level, an authenticate closure) and the listen addresses and worker count.
// The core never sees a Config, so it links neither TOMLKit nor a crypto library.
import DeviceKeys
import HeartbeatConfig
import Logging
import Posix
import ServerCore
import TLS

extension Settings {
    /// `authSecret` is the secret file's (SecretFile.load); with auth on and no secret every HELLO fails closed.
    /// `tls` is the TLS listeners' context (TLSFiles.load).
    init(_ config: Config, authSecret: [UInt8]?, tls: TLSContext?) {
        self.init(
            interval: nanosecondsOf(config.heartbeat.interval),
            intervalMin: nanosecondsOf(config.heartbeat.intervalMin),
            intervalMax: nanosecondsOf(config.heartbeat.intervalMax),
            timeoutFactor: UInt64(config.heartbeat.timeoutFactor),
            helloTimeout: nanosecondsOf(config.heartbeat.helloTimeout),
            pong: config.heartbeat.pong,
            maxLine: config.limits.maxLine,
            maxClients: config.limits.maxClients,
            maxClientsPerAddress: config.limits.maxClientsPerAddress,
            logSessions: config.log.sessions,
            logLevel: Logger.Level(config.log.level),
            keepalive: TCPKeepalive(
                idleSeconds: Int32(clamping: nanosecondsOf(config.tcp.keepaliveIdle) / 1_000_000_000),
                intervalSeconds: Int32(clamping: nanosecondsOf(config.tcp.keepaliveInterval) / 1_000_000_000),
                count: Int32(clamping: config.tcp.keepaliveCount),
                userTimeoutMilliseconds: Int32(clamping: nanosecondsOf(config.tcp.userTimeout) / 1_000_000)
            ),
            drainTimeout: nanosecondsOf(config.drainTimeout),
            authenticate: Self.authenticate(config.auth.mode, secret: authSecret),
            tls: tls,
            handshakeTimeout: nanosecondsOf(config.tls.handshakeTimeout)
        )
    }

    private static func authenticate(_ mode: AuthMode, secret: [UInt8]?) -> Authenticate? {
        guard mode == .hmac else { return nil }
        guard let secret else { return { _, _ in false } }
        return { id, token in DeviceKey.matches(token, secret: secret, id: id) }
    }
}

extension Server {
    /// Binds `config.listen` with `config.workers` workers ("auto": one per core, up to the 256 an
    /// explicit count may ask for), or adopts the sockets systemd passed.
    convenience init(
        config: Config, authSecret: [UInt8]?, tls: TLSContext?, activated: [Int32], logger: Logger
    ) throws(ServerError) {
        let count: Int
        switch config.workers {
        case .auto: count = min(max(1, Int(Posix.onlineProcessors())), 256)
        case .count(let n): count = n
        }
        // ListenAddress was read with inet_pton already; a failure here would be a bug in that check.
        let addresses = { (list: [ListenAddress]) in
            list.map { address in
                guard let parsed = SocketAddress(host: address.host, port: address.port) else {
                    preconditionFailure("listen address \(address) passed the config check but not inet_pton")
                }
                return parsed
            }
        }
        try self.init(
            settings: Settings(config, authSecret: authSecret, tls: tls), listen: addresses(config.listen),
            tlsListen: addresses(config.tls.listen), workers: count, tick: nanosecondsOf(config.heartbeat.tick),
            activated: activated, logger: logger
        )
    }

    /// A reload: the live part of `config` goes to every worker.
    func apply(_ config: Config, authSecret: [UInt8]?, tls: TLSContext?) {
        apply(Settings(config, authSecret: authSecret, tls: tls))
    }
}

extension Logger.Level {
    /// HeartbeatConfig's LogLevel has the same seven names as swift-log's levels; this is the one mapping.
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
