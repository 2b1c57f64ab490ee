// The main thread: signals, sd_notify (READY, STATUS, WATCHDOG, RELOADING, STOPPING) and the
// lifecycle, on an event loop of its own. It steers the workers only through Server.
import Cluster
import ControlProtocol
import EventLoop
import Handoff
import HeartbeatConfig
import Logging
import Posix
import ServerCore
import SystemdEdge
import TLS

final class Supervisor {
    var config: Config
    private var source: ConfigSource
    /// The auth secrets and revoked ids in force; re-read with the config on every reload.
    private var auth: AuthMaterial
    /// The TLS listeners' context in force; rebuilt from the files on every reload.
    private var tls: TLSContext?
    var logger = Logger(label: "heartbeatd")
    let notifier = Notifier.fromEnvironment()
    var status = StatusLine()
    private var stoppedWorkers = 0
    var isStopping = false
    private var exitStatus: Int32 = 0
    // Watchdog: WATCHDOG=1 only when every worker has turned since the last ping we sent them.
    private var watchdogPeriod: UInt64?
    private var lastWorkerPing: UInt64 = 0
    private var metrics: MetricsEndpoint?
    private var control: ControlServer?
    /// The Redis link when `[cluster] redis` is set (made once, at start).
    private let clusterSettings: ClusterSettings?
    private var cluster: ClusterLink?
    /// The binary's path as it was at start (an upgrade execs the file now at that path).
    let ownPath = Program.ownPath()
    var handoffPurpose: HandoffPurpose?
    var mailbox: Mailbox<Message>?
    /// This process's start, for the takeover's log line.
    private var timeline: StartTimeline

    // Timer kinds on the loop `serve` makes: STATUS= once a second, and the watchdog's period.
    private var statusTimer: EventLoop.TimerHandlerID!
    private var watchdogTimer: EventLoop.TimerHandlerID!
    enum Message: Sendable {
        case workerStopped(Int)
        case workerFailed(Int, SystemError)
        case handedOff(HandoffState, retired: [DescriptorID])
        case restored(RestoreTiming)
    }

    init(
        config: Config, source: ConfigSource, auth: AuthMaterial = .none, tls: TLSContext? = nil,
        cluster: ClusterSettings? = nil, timeline: StartTimeline
    ) {
        self.timeline = timeline
        self.config = config
        self.source = source
        self.auth = auth
        self.tls = tls
        clusterSettings = cluster
        logger.logLevel = Logger.Level(config.log.level)
    }

    /// Runs the daemon to the end; returns the exit status.
    func run() -> Int32 {
        do {
            return try serve()
        } catch {
            // One message, through the log handler: stderr for a person, the journal under systemd.
            logger.critical("\(error)")
            return 1
        }
    }

    private func serve() throws -> Int32 {
        // Signals are blocked before any worker thread exists, so only the signalfd sees them.
        // First: what a predecessor left, before this process opens descriptors of its own.
        // The limit first: sessions arriving in flight need a descriptor each (opens none itself).
        let descriptorLimit = try DescriptorLimit.raiseToHardLimit()
        let (inheritance, activated) = try Succession.inherit(
            descriptorLimit: Int(clamping: descriptorLimit), timeline: &timeline, logger: logger)
        let signals = try SignalFD([.terminate, .interrupt, .hangUp])
        let server = try Server(
            config: config, auth: auth, tls: tls, activated: activated, logger: logger, inheritance: inheritance)
        if let inForce = server.backlogInForce, inForce < config.backlog {
            logger.warning(
                "backlog \(config.backlog) is above net.core.somaxconn: the kernel applies \(inForce)",
                metadata: ["event": "backlog", "backlog": "\(inForce)"])
        }
        timeline.built = StartTimeline.now()
        // The sessions are in the workers' epolls now: the predecessor's can go, off their way.
        Succession.closeInBackground(inheritance?.retired ?? [], afterMilliseconds: Succession.retiredDelayMilliseconds)

        let loop = try EventLoop(tick: 10_000_000, slots: 256)
        let mailbox = try Mailbox<Message>()
        self.mailbox = mailbox
        try mailbox.attach(to: loop) { [unowned self] message in
            switch message {
            case .workerStopped:
                stoppedWorkers += 1
                if stoppedWorkers == server.workerCount { loop.stop() }
            case .workerFailed(let worker, let error):
                logger.critical("worker \(worker) failed: \(error)")
                exitStatus = 1
                if !isStopping { stop(server, loop: loop, signal: "worker failure") }
            case .handedOff(let state, let retired):
                handedOff(state, retired: retired, server: server)
            case .restored(let restore):
                guard let inheritance, let takeover = server.takeover else { return }
                Succession.report(inheritance, takeover, timeline.split(takeover, restore), logger: logger)
            }
        }
        let signalHandler = loop.addHandler { [unowned self] _, _ in
            while let signal = try? signals.next() {
                switch signal {
                case .hangUp: reload(server)
                case .terminate, .interrupt:
                    stop(server, loop: loop, signal: signal == .terminate ? "SIGTERM" : "SIGINT")
                }
            }
        }
        try loop.register(signals.id, interest: .readable, handler: signalHandler)
        // The control server and the metrics endpoint add timer kinds of their own.
        statusTimer = loop.addTimerHandler { [unowned self] _ in publishStatus(server, loop: loop) }
        watchdogTimer = loop.addTimerHandler { [unowned self] _ in feedWatchdog(server, loop: loop) }
        let control = try ControlServer(
            loop: loop, server: server, configFile: source.path, offlineGrace: config.events.offlineGrace,
            logger: logger,
            reload: { [unowned self] in reload(server) }
        )
        self.control = control
        control.upgrade = { [unowned self] reply in upgrade(server, reply: reply) }
        if let lastSeq = inheritance?.state?.lastSeq { control.resumePresence(after: lastSeq) }
        control.open(config.control)
        defer { control.close() }
        if let listen = config.metrics.listen {
            do {
                metrics = try MetricsEndpoint(listen: listen, loop: loop, server: server, logger: logger)
            } catch {
                throw MetricsEndpoint.StartError(description: "cannot serve metrics on \(listen): \(error)")
            }
            logger.notice("metrics: serving http://\(metrics?.address ?? "")/metrics")
        }

        if let clusterSettings {
            let link = ClusterLink(settings: clusterSettings, loop: loop, logger: logger) { id, seq in
                server.evict(id: id, onlineSeq: seq)
            }
            cluster = link
            control.clusterReport = { [unowned link] in link.snapshot.report }
            metrics?.extraText = { [unowned link] in link.snapshot.prometheusText }
            control.feedPresence { [unowned link] event in link.receive(event) }
            link.start()
        }
        try server.start(
            onStopped: { worker in mailbox.post(.workerStopped(worker)) },
            onFailure: { worker, error in mailbox.post(.workerFailed(worker, error)) },
            onPresence: control.presenceSink, onRestored: { mailbox.post(.restored($0)) }
        )
        timeline.started = StartTimeline.now()
        let capacity = descriptorLimit > 32 ? descriptorLimit - 32 : 0
        let listening = server.addresses + server.tlsAddresses.map { "tls://\($0)" }
        logger.notice(
            "heartbeatd \(heartbeatdVersion) started: listening on \(listening.joined(separator: ", ")) with \(server.workerCount) worker(s); descriptor limit \(descriptorLimit), room for about \(capacity) clients",
            metadata: [
                "event": "started", "listen": "\(listening.joined(separator: ","))",
                "socket_activated": "\(!activated.isEmpty)",
            ]
        )
        logAuth()
        if config.auth.mode == .hmac, !server.addresses.isEmpty {
            // Any plain listener (bound or passed by systemd) carries the token in the clear; `[tls] listen`
            // ones do not, but a plain one beside them is enough to replay a token sniffed there.
            logger.warning(
                "auth.mode \"hmac\" on plain TCP listeners: whoever sees one HELLO can replay its token and take the id over; use mode = \"challenge\"",
                metadata: ["event": "auth-replayable"])
        }
        notifier?.ready(status: status.text(for: server.snapshot(), now: loop.now))
        logger.info("ready", metadata: ["event": "ready"])

        _ = loop.arm(statusTimer, at: loop.now + 1_000_000_000)
        if let interval = Watchdog.interval() {
            let period = nanosecondsOf(interval) / 2
            watchdogPeriod = period
            notifier?.watchdog()
            lastWorkerPing = Clock.monotonicNanoseconds()
            server.pingWorkers()
            _ = loop.arm(watchdogTimer, at: loop.now + period)
        }
        try loop.run()
        try cluster?.finish(on: loop)
        server.join()
        logger.notice("stopped", metadata: ["event": "stopped"])
        return exitStatus
    }

    /// STATUS= at most once a second, and only when the line changed.
    private func publishStatus(_ server: Server, loop: EventLoop) {
        let line = status.text(for: server.snapshot(), now: loop.now)
        if line != status.lastSent {
            notifier?.status(line)
            status.lastSent = line
        }
        _ = loop.arm(statusTimer, at: loop.now + 1_000_000_000)
    }

    /// WATCHDOG=1 only if every worker turned since the last ping: a stuck worker starves the watchdog.
    private func feedWatchdog(_ server: Server, loop: EventLoop) {
        guard let period = watchdogPeriod else { return }
        if server.oldestTurn() >= lastWorkerPing {
            notifier?.watchdog()
        } else {
            logger.warning(
                "a worker has not turned for \((loop.now - lastWorkerPing) / 1_000_000) ms; withholding WATCHDOG=1")
        }
        lastWorkerPing = Clock.monotonicNanoseconds()
        server.pingWorkers()
        _ = loop.arm(watchdogTimer, at: loop.now + period)
    }

    /// SIGHUP: RELOADING=1, re-read, apply what can change live, READY=1. A bad file keeps the running config.
    /// The outcome goes back to a `reload` on the control socket; SIGHUP has nobody to tell but the log.
    @discardableResult
    private func reload(_ server: Server) -> Result<ReloadReport, ControlError> {
        notifier?.reloading(monotonicMicroseconds: Clock.monotonicNanoseconds() / 1_000)
        logger.notice("reloading", metadata: ["event": "reloading"])
        defer { notifier?.ready(status: status.lastSent) }
        let next: Config
        do {
            next = try source.load()
        } catch {
            logger.error(
                "reload failed, keeping the running configuration: \(error)",
                metadata: ["event": "reloaded", "outcome": "failed"])
            return .failure(.reloadFailed("\(error)"))
        }
        let nextAuth: AuthMaterial
        let nextTLS: TLSContext?
        do {
            nextAuth = try SecretFile.material(for: next.auth)
            // tls.listen takes a restart: the files are loaded for the listeners that are running.
            var tlsSection = next.tls
            tlsSection.listen = config.tls.listen
            nextTLS = try TLSFiles.load(tlsSection)
        } catch {
            logger.error(
                "reload failed, keeping the running configuration: \(error)",
                metadata: ["event": "reloaded", "outcome": "failed"])
            return .failure(.reloadFailed("\(error)"))
        }
        let needRestart = next.restartRequiredChanges(comparedTo: config)
        if !needRestart.isEmpty {
            logger.warning(
                "reload: \(needRestart.joined(separator: ", ")) changed; that takes a restart, the running value stays")
        }
        var applied = next
        applied.listen = config.listen
        applied.workers = config.workers
        applied.control = config.control
        applied.metrics = config.metrics
        applied.tls.listen = config.tls.listen
        applied.proxy = config.proxy
        config = applied
        logger.logLevel = Logger.Level(config.log.level)
        auth = nextAuth
        tls = nextTLS
        logAuth()
        server.apply(config, auth: auth, tls: tls)
        control?.apply(offlineGrace: config.events.offlineGrace)
        logger.notice("reloaded", metadata: ["event": "reloaded", "outcome": "applied"])
        let restart =
            needRestart.isEmpty
            ? "" : "; \(needRestart.joined(separator: ", ")) changed and take a restart, the running values stay"
        return .success(ReloadReport(restartRequired: needRestart, message: "configuration reloaded\(restart)"))
    }

    /// Which secret files are in force and how many ids are revoked: a rotation's steps show in the log.
    private func logAuth() {
        guard config.auth.isOn else { return }
        logger.notice(
            "auth: mode \(config.auth.mode.rawValue), secret from \(auth.secretPaths.joined(separator: " and previous from ")), \(auth.revoked.count) revoked id(s)",
            metadata: ["event": "auth", "secrets": "\(auth.secretPaths.count)", "revoked": "\(auth.revoked.count)"])
    }

    /// SIGTERM/SIGINT: STOPPING=1, then every worker drains; the loop ends when the last one stops.
    private func stop(_ server: Server, loop: EventLoop, signal: String) {
        guard !isStopping, handoffPurpose == nil else { return }
        isStopping = true
        if signal == "SIGTERM", handOffAtStop(server) { return }
        let snapshot = server.snapshot()
        notifier?.stopping(status: "stopping: draining \(snapshot.connected) clients")
        logger.notice(
            "stopping on \(signal): draining \(snapshot.connected) clients for up to \(config.drainTimeout)",
            metadata: ["event": "stopping"])
        server.drain()
    }
}
