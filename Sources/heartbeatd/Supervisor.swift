// The main thread: signals, sd_notify (READY, STATUS, WATCHDOG, RELOADING, STOPPING) and the
// lifecycle, on an event loop of its own. It steers the workers only through Server.
import EventLoop
import HeartbeatConfig
import Logging
import Posix
import ServerCore
import SystemdEdge

final class Supervisor {
    private var config: Config
    private let source: ConfigSource
    private var logger = Logger(label: "heartbeatd")
    private let notifier = Notifier.fromEnvironment()
    private var status = StatusLine()
    private var stoppedWorkers = 0
    private var isStopping = false
    private var exitStatus: Int32 = 0
    // Watchdog: WATCHDOG=1 only when every worker has turned since the last ping we sent them.
    private var watchdogPeriod: UInt64?
    private var lastWorkerPing: UInt64 = 0

    private enum Timer: UInt64 { case status = 1, watchdog = 2 }
    private enum Message: Sendable { case workerStopped(Int), workerFailed(Int, SystemError) }

    init(config: Config, source: ConfigSource) {
        self.config = config
        self.source = source
        logger.logLevel = Logger.Level(config.log.level)
    }

    /// Runs the daemon to the end; returns the exit status.
    func run() -> Int32 {
        do {
            return try serve()
        } catch {
            logger.critical("\(error)")
            printError("heartbeatd: \(error)")
            return 1
        }
    }

    private func serve() throws -> Int32 {
        // Signals are blocked before any worker thread exists, so only the signalfd sees them.
        let signals = try SignalFD([.terminate, .interrupt, .hangUp])
        let descriptorLimit = try DescriptorLimit.raiseToHardLimit()
        let activated = try SocketActivation.listeningDescriptors()
        let server = try Server(config: config, activated: activated, logger: logger)

        let loop = try EventLoop(tick: 10_000_000, slots: 256)
        let mailbox = try Mailbox<Message>()
        try mailbox.attach(to: loop) { [unowned self] message in
            switch message {
            case .workerStopped:
                stoppedWorkers += 1
                if stoppedWorkers == server.workerCount { loop.stop() }
            case .workerFailed(let worker, let error):
                logger.critical("worker \(worker) failed: \(error)")
                exitStatus = 1
                if !isStopping { stop(server, loop: loop, signal: "worker failure") }
            }
        }
        let signalHandler = loop.addHandler { [unowned self] _, _ in
            while let signal = try? signals.next() {
                switch signal {
                case .hangUp: reload(server)
                case .terminate, .interrupt: stop(server, loop: loop, signal: signal == .terminate ? "SIGTERM" : "SIGINT")
                }
            }
        }
        try loop.register(signals.id, interest: .readable, handler: signalHandler)
        loop.onExpiry = { [unowned self] payload in
            switch Timer(rawValue: payload) {
            case .status: publishStatus(server, loop: loop)
            case .watchdog: feedWatchdog(server, loop: loop)
            case nil: break
            }
        }

        try server.start(
            onStopped: { worker in mailbox.post(.workerStopped(worker)) },
            onFailure: { worker, error in mailbox.post(.workerFailed(worker, error)) }
        )
        let capacity = descriptorLimit > 32 ? descriptorLimit - 32 : 0
        logger.notice(
            "heartbeatd \(heartbeatdVersion) started: listening on \(server.addresses.joined(separator: ", ")) with \(server.workerCount) worker(s); descriptor limit \(descriptorLimit), room for about \(capacity) clients",
            metadata: ["event": "started", "listen": "\(server.addresses.joined(separator: ","))", "socket_activated": "\(!activated.isEmpty)"]
        )
        notifier?.ready(status: status.text(for: server.snapshot(), now: loop.now))
        logger.info("ready", metadata: ["event": "ready"])

        _ = loop.arm(Timer.status.rawValue, at: loop.now + 1_000_000_000)
        if let interval = Watchdog.interval() {
            let period = nanosecondsOf(interval) / 2
            watchdogPeriod = period
            notifier?.watchdog()
            lastWorkerPing = Clock.monotonicNanoseconds()
            server.pingWorkers()
            _ = loop.arm(Timer.watchdog.rawValue, at: loop.now + period)
        }
        try loop.run()
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
        _ = loop.arm(Timer.status.rawValue, at: loop.now + 1_000_000_000)
    }

    /// WATCHDOG=1 only if every worker turned since the last ping: a stuck worker starves the watchdog.
    private func feedWatchdog(_ server: Server, loop: EventLoop) {
        guard let period = watchdogPeriod else { return }
        if server.oldestTurn() >= lastWorkerPing {
            notifier?.watchdog()
        } else {
            logger.warning("a worker has not turned for \((loop.now - lastWorkerPing) / 1_000_000) ms; withholding WATCHDOG=1")
        }
        lastWorkerPing = Clock.monotonicNanoseconds()
        server.pingWorkers()
        _ = loop.arm(Timer.watchdog.rawValue, at: loop.now + period)
    }

    /// SIGHUP: RELOADING=1, re-read, apply what can change live, READY=1. A bad file keeps the running config.
    private func reload(_ server: Server) {
        notifier?.reloading(monotonicMicroseconds: Clock.monotonicNanoseconds() / 1_000)
        logger.notice("reloading", metadata: ["event": "reloading"])
        defer { notifier?.ready(status: status.lastSent) }
        let next: Config
        do {
            next = try source.load()
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)", metadata: ["event": "reloaded", "outcome": "failed"])
            return
        }
        let needRestart = next.restartRequiredChanges(comparedTo: config)
        if !needRestart.isEmpty {
            logger.warning("reload: \(needRestart.joined(separator: ", ")) changed; that takes a restart, the running value stays")
        }
        var applied = next
        applied.listen = config.listen
        applied.workers = config.workers
        config = applied
        logger.logLevel = Logger.Level(config.log.level)
        server.apply(config)
        logger.notice("reloaded", metadata: ["event": "reloaded", "outcome": "applied"])
    }

    /// SIGTERM/SIGINT: STOPPING=1, then every worker drains; the loop ends when the last one stops.
    private func stop(_ server: Server, loop: EventLoop, signal: String) {
        guard !isStopping else { return }
        isStopping = true
        let snapshot = server.snapshot()
        notifier?.stopping(status: "stopping: draining \(snapshot.connected) clients")
        logger.notice("stopping on \(signal): draining \(snapshot.connected) clients for up to \(config.drainTimeout)", metadata: ["event": "stopping"])
        server.drain()
    }
}

func nanosecondsOf(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
}

extension Logger.Level {
    init(_ level: LogLevel) {
        self = Logger.Level(rawValue: level.rawValue) ?? .info
    }
}
