// heartbeatd's configuration: the model, its built-in defaults, parsing from TOML and rendering back.
// Each [section] is a struct in its own file with `init(reading:)` and `render(into:)`; adding one is
// that struct, a property here, and one line each in parse(toml:), rendered() and, if it cannot
// change on a reload, restartRequiredChanges(comparedTo:).

public struct Config: Sendable, Equatable {
    public var listen: [ListenAddress]
    /// listen(2)'s backlog for every client listener this process binds (`listen` and `tls.listen`):
    /// 1...65535. The kernel caps it at net.core.somaxconn; socket-activated listeners get systemd's
    /// `Backlog=` instead.
    public var backlog: Int = 4096
    public var workers: Workers
    /// How long a worker polls for events before it sleeps, while it was busy at least half of the last
    /// 100 ms (0...1000 µs; 0: it always sleeps at once). See docs/design.md, "Polling before sleeping".
    public var busyPollMicroseconds: Int = 100
    /// How long a stopping daemon waits for clients to leave before it reaps them with `shutdown`.
    public var drainTimeout: Duration
    public var heartbeat: Heartbeat
    public var limits: Limits
    public var tcp: TCP
    public var log: Log
    public var control: Control
    public var events: Events
    public var metrics: Metrics
    public var auth: Auth
    public var tls: TLS
    public var cluster: Cluster
    public var proxy: Proxy
    public var restart: Restart = .defaults

    /// What the daemon runs with when there is no file; config/heartbeatd.toml documents the same values.
    public static let defaults = Config(
        listen: [ListenAddress(host: "0.0.0.0", port: 7700, isIPv6: false)],
        workers: .count(1),
        drainTimeout: .seconds(5),
        heartbeat: .defaults,
        limits: .defaults,
        tcp: .defaults,
        log: .defaults,
        control: .defaults,
        events: .defaults,
        metrics: .defaults,
        auth: .defaults,
        tls: .defaults,
        cluster: .defaults,
        proxy: .defaults
    )

    /// Reads a config file's text. Keys it leaves out keep their defaults; unknown keys, wrong types
    /// and values out of range are errors that name the key.
    public static func parse(toml text: String) throws(ConfigError) -> Config {
        try TOMLPrecheck.check(text)
        let document = try TOMLDocument(parsing: text)
        var top = TableReader(document.table, path: "")
        let defaults = Config.defaults
        let listen = try top.value("listen").map { value throws(ConfigError) in try listenAddresses(value) }
        let backlog = try top.integer("backlog", in: 1...65535)
        let workers = try top.read("workers", expected: "\"auto\" or an integer from 1 to 256", Workers.init(toml:))
        let busyPoll = try top.integer("busy_poll_us", in: 0...1_000)
        let drainTimeout = try top.duration("drain_timeout", in: .zero ... .seconds(3600))
        let heartbeat = try top.section("heartbeat", Heartbeat.init(reading:))
        let limits = try top.section("limits", Limits.init(reading:))
        let tcp = try top.section("tcp") { table throws(ConfigError) in try TCP(reading: &table, heartbeat: heartbeat) }
        let log = try top.section("log", Log.init(reading:))
        let control = try top.section("control", Control.init(reading:))
        let events = try top.section("events", Events.init(reading:))
        let metrics = try top.section("metrics", Metrics.init(reading:))
        let auth = try top.section("auth", Auth.init(reading:))
        let tls = try top.section("tls", TLS.init(reading:))
        let cluster = try top.section("cluster", Cluster.init(reading:))
        let restart = try top.section("restart", Restart.init(reading:))
        let proxy = try top.section("proxy", Proxy.init(reading:))
        var config = Config(
            listen: listen ?? defaults.listen,
            workers: workers ?? defaults.workers,
            drainTimeout: drainTimeout ?? defaults.drainTimeout,
            heartbeat: heartbeat, limits: limits, tcp: tcp, log: log,
            control: control, events: events, metrics: metrics, auth: auth, tls: tls, cluster: cluster,
            proxy: proxy
        )
        config.restart = restart
        config.backlog = backlog ?? defaults.backlog
        config.busyPollMicroseconds = busyPoll ?? defaults.busyPollMicroseconds
        try top.refuseUnknownKeys()
        // With SO_REUSEPORT both binds would succeed and the kernel would mix TLS and plain clients.
        for (index, address) in config.tls.listen.enumerated() where address.port != 0 {
            if let plain = config.listen.firstIndex(of: address) {
                throw ConfigError(
                    key: "tls.listen[\(index)]",
                    message: "\(tomlQuoted(address.description)) is already listen[\(plain)]")
            }
        }
        try config.checkProxyListeners()
        return config
    }

    /// The effective config as TOML, every key written out (tcp.* resolved); parse(toml:) reads it
    /// back to an equal Config.
    public func rendered() -> String {
        var writer = TOMLWriter()
        writer.set("listen", listen.map(\.description))
        writer.set("backlog", backlog)
        switch workers {
        case .auto: writer.set("workers", "auto")
        case .count(let count): writer.set("workers", count)
        }
        writer.set("busy_poll_us", busyPollMicroseconds)
        writer.set("drain_timeout", drainTimeout)
        heartbeat.render(into: &writer)
        limits.render(into: &writer)
        tcp.render(into: &writer)
        log.render(into: &writer)
        control.render(into: &writer)
        events.render(into: &writer)
        metrics.render(into: &writer)
        auth.render(into: &writer)
        tls.render(into: &writer)
        cluster.render(into: &writer)
        restart.render(into: &writer)
        proxy.render(into: &writer)
        return writer.text
    }

    /// The keys that differ from `old` but only take effect on a restart: the listening sockets (for
    /// clients, control and metrics) and their backlog and the worker threads are made once, and the control socket's
    /// group is given to its file when it is made; the cluster link is made once, and so is each listener's
    /// PROXY flag. Everything else (heartbeat.*, limits.*, tcp.*, log.*, events.*, auth.*, tls certificate,
    /// key and client CA, drain_timeout) a reload applies.
    public func restartRequiredChanges(comparedTo old: Config) -> [String] {
        var keys: [String] = []
        if listen != old.listen { keys.append("listen") }
        if backlog != old.backlog { keys.append("backlog") }
        if workers != old.workers { keys.append("workers") }
        if control.socket != old.control.socket { keys.append("control.socket") }
        if control.group != old.control.group { keys.append("control.group") }
        if metrics.listen != old.metrics.listen { keys.append("metrics.listen") }
        if tls.listen != old.tls.listen { keys.append("tls.listen") }
        if cluster != old.cluster { keys.append("cluster") }
        if proxy != old.proxy { keys.append("proxy.listeners") }
        return keys
    }

    /// At least one address (`allowsNone`: or none), no address twice. Port 0 may repeat: each such
    /// entry gets its own port. `key` is "listen" or "tls.listen".
    static func listenAddresses(
        _ value: TOMLNode, key listKey: String = "listen", allowsNone: Bool = false
    ) throws(ConfigError) -> [ListenAddress] {
        guard let array = value.array else {
            throw ConfigError(
                key: listKey, message: "expected an array of addresses such as [\"0.0.0.0:7700\"], got \(shown(value))"
            )
        }
        guard !array.isEmpty || allowsNone else {
            throw ConfigError(key: listKey, message: "expected at least one address such as \"0.0.0.0:7700\", got []")
        }
        var addresses: [ListenAddress] = []
        for (index, element) in array.enumerated() {
            let key = "\(listKey)[\(index)]"
            guard let text = element.string else {
                throw ConfigError(
                    key: key, message: "expected a string such as \"0.0.0.0:7700\", got \(shown(element))")
            }
            let address: ListenAddress
            do {
                address = try ListenAddress(parsing: text)
            } catch {
                throw ConfigError(key: key, message: error.message)
            }
            if address.port != 0, let first = addresses.firstIndex(of: address) {
                throw ConfigError(key: key, message: "\(tomlQuoted(text)) is already \(listKey)[\(first)]")
            }
            addresses.append(address)
        }
        return addresses
    }
}

/// How many worker threads (one epoll loop each) to run.
public enum Workers: Sendable, Equatable {
    /// One per CPU the daemon may run on.
    case auto
    /// 1...256.
    case count(Int)

    init?(toml value: TOMLNode) {
        if value.string == "auto" {
            self = .auto
        } else if let count = value.int, (1...256).contains(count) {
            self = .count(count)
        } else {
            return nil
        }
    }
}
