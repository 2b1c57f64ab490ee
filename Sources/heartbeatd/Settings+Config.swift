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
    /// `auth` is what SecretFile.material read; with auth on and no secret every HELLO fails closed.
    /// `tls` is the TLS listeners' context (TLSFiles.load).
    init(_ config: Config, auth: AuthMaterial, tls: TLSContext?) {
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
            auth: Self.policy(config.auth.mode, secrets: auth.secrets),
            revoked: auth.revoked,
            tls: tls,
            handshakeTimeout: nanosecondsOf(config.tls.handshakeTimeout)
        )
        connectRate = config.limits.connectRate
        connectBurst = config.limits.effectiveConnectBurst
        busyPoll = UInt64(config.busyPollMicroseconds) * 1_000
    }

    /// Each check tries every secret in force: the current one, and while rotating the previous one.
    private static func policy(_ mode: AuthMode, secrets: [[UInt8]]) -> AuthPolicy {
        switch mode {
        case .off:
            return .off
        case .hmac:
            return .token { id, token in secrets.contains { DeviceKey.matches(token, secret: $0, id: id) } }
        case .challenge:
            return .challenge { id, nonce, mac in
                secrets.contains { DeviceKey.answers(mac, nonce: nonce, secret: $0, id: id) }
            }
        }
    }
}

extension Server {
    /// Binds `config.listen` with `config.workers` workers ("auto": one per core, up to the 256 an
    /// explicit count may ask for), or adopts the sockets systemd passed.
    convenience init(
        config: Config, auth: AuthMaterial, tls: TLSContext?, activated: [Int32], logger: Logger,
        inheritance: Inheritance? = nil
    ) throws(ServerError) {
        let count: Int
        switch config.workers {
        case .auto: count = min(max(1, Int(Posix.onlineProcessors())), 256)
        case .count(let n): count = n
        }
        // ListenAddress was read with inet_pton already; a failure here would be a bug in that check.
        try self.init(
            settings: Settings(config, auth: auth, tls: tls), listen: config.listen.map(socketAddress),
            tlsListen: config.tls.listen.map(socketAddress), proxied: config.proxy.listeners.map(socketAddress),
            backlog: Int32(config.backlog), workers: count, tick: nanosecondsOf(config.heartbeat.tick),
            activated: activated, logger: logger,
            inheritance: inheritance
        )
    }

    /// A reload: the live part of `config` goes to every worker.
    func apply(_ config: Config, auth: AuthMaterial, tls: TLSContext?) {
        apply(Settings(config, auth: auth, tls: tls))
    }
}

/// ListenAddress was read with inet_pton already; a failure here would be a bug in that check.
private func socketAddress(_ address: ListenAddress) -> SocketAddress {
    guard let parsed = SocketAddress(host: address.host, port: address.port) else {
        preconditionFailure("listen address \(address) passed the config check but not inet_pton")
    }
    return parsed
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

func nanosecondsOf(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
}
