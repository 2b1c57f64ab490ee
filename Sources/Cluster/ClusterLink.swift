// The daemon's link to Redis, on the supervisor's EventLoop: two hiredis connections (commands, and
// the takeover channel's subscription), the sessions this node holds (from its presence events), and
// the state machine down → connecting → [lease-wait] → reconciling → up. Nothing here is on a worker's
// path: the supervisor hands it the presence events the workers posted to the control server's
// Mailbox (`receive`); a takeover goes back as `evict` (a worker message).
// See docs/design.md, "Cluster", for the key layout, the scripts and the failure behaviour.
import ClusterSchema
import ControlProtocol
import EventLoop
import Hiredis
import Logging
import Posix

public final class ClusterLink {
    /// What the link knows of a session this node holds.
    /// Its session id is `PresenceRecord.session(run:seq:)` of this run and `seq`: made when needed
    /// (a claim or release writes it straight into the command), not kept as a String per session.
    struct Held {
        var seq: UInt64
        var peer: String
        var sinceMS: UInt64
    }

    let settings: ClusterSettings
    let keys: ClusterKeys
    let loop: EventLoop
    var logger: Logger
    /// Ends the local session of `id` whose online event had `seq`, as `replaced` (Server.evict).
    let evict: (String, UInt64) -> Void
    /// This run's id: the start time in ms, part of every session id (`<run>.<seq>`).
    let run: UInt64

    let commands: RedisConnection
    let subscriber: RedisConnection
    var status = ClusterStatus()
    var held: [String: Held] = [:]
    /// Ids this node asked a worker to end after another node took them over.
    var evicting: [String: UInt64] = [:]
    /// Stream entries made while the link could not send them.
    var pending: [StreamEntry] = []
    /// This turn's stream entries and set changes, sent at its end.
    var outbox = Outbox()
    var isDropLogged = false
    var feed = PresenceFeed(grace: 0)
    var shas = ScriptSHAs()
    var hasLease = false
    /// Redis is not a Redis Cluster (`INFO cluster`): a loop turn's changes go in one `turn` call.
    /// False until the answer, and on a Redis Cluster: one script per record.
    var batchesTurns = false
    var isStopped = false
    /// The commands in flight, oldest first from `awaitingHead` (replies come back in order).
    var awaiting: [Awaiting] = []
    var awaitingHead = 0
    /// The presence path's command being built, reused from command to command (ClusterLink+Replies).
    var argv = Argv()
    /// `argv` calls its script by SHA (EVALSHA), so a NOSCRIPT answer sends it again as EVAL.
    var argvIsSHA = false
    /// This node's set of ids (the outbox's SADD/SREM every turn).
    let idsKey: String
    var retryDelay: UInt64 = 100_000_000

    var timers: (tick: EventLoop.TimerHandlerID, retry: EventLoop.TimerHandlerID, feed: EventLoop.TimerHandlerID)!
    var feedArmedAt: UInt64?

    public init(
        settings: ClusterSettings, loop: EventLoop, logger: Logger, evict: @escaping (String, UInt64) -> Void
    ) {
        self.settings = settings
        keys = ClusterKeys(prefix: settings.prefix)
        idsKey = keys.ids(settings.node)
        self.loop = loop
        var logger = logger
        logger[metadataKey: "node"] = "\(settings.node)"
        self.logger = logger
        self.evict = evict
        run = Clock.wallMilliseconds()
        commands = RedisConnection(loop: loop, name: "commands")
        subscriber = RedisConnection(loop: loop, name: "subscriber")
        status.node = settings.node
        timers = (
            tick: loop.addTimerHandler { [unowned self] _ in self.tick() },
            retry: loop.addTimerHandler { [unowned self] _ in self.connect() },
            feed: loop.addTimerHandler { [unowned self] _ in self.feedExpired() }
        )
        commands.onConnected = { [unowned self] in self.commandsConnected() }
        commands.onClosed = { [unowned self] why in self.commandsClosed(why) }
        commands.onReply = { [unowned self] reply in self.answered(reply) }
        subscriber.onConnected = { [unowned self] in self.subscriberConnected() }
        subscriber.onClosed = { [unowned self] why in self.subscriberClosed(why) }
        // Commands queued during a turn go out in one write at its end (RedisConnection.flush), the
        // turn's stream entries and set changes with them.
        let previous = loop.onTurnEnd
        loop.onTurnEnd = { [weak self] in
            previous()
            self?.sendOutbox()
            self?.commands.flush()
            self?.subscriber.flush()
        }
    }

    /// Connects and starts the one-second lease tick.
    public func start() {
        logger.notice(
            "cluster: node \(settings.node) joining through Redis at \(settings.endpoint), prefix \"\(settings.prefix)\"",
            metadata: ["event": "cluster-link"])
        connect()
        _ = loop.arm(timers.tick, at: loop.now + 1_000_000_000)
    }

    /// A clean stop: the workers drained (every session's offline was sent); give up the lease.
    public func stop() {
        guard !isStopped else { return }
        isStopped = true
        if status.state == .up || status.state == .reconciling {
            send(["DEL", keys.lease(settings.node)])
            send(["SREM", keys.nodes, settings.node])
        }
    }

    /// Ends both connections (after `stop`, once the loop has flushed what it could).
    public func close() {
        isStopped = true
        commands.close()
        subscriber.close()
    }

    public var snapshot: ClusterStatus {
        var snapshot = status
        snapshot.inFlight = awaiting.count - awaitingHead
        snapshot.buffered = pending.count
        snapshot.heldSessions = held.count
        return snapshot
    }

    // MARK: Connections

    func connect() {
        guard !isStopped else { return }
        if !commands.isOpen {
            status.state = .connecting
            if case .failure(let error) = commands.open(settings.endpoint) { commandsClosed("\(error)") }
        }
        if !subscriber.isOpen {
            if case .failure(let error) = subscriber.open(settings.endpoint) { subscriberClosed("\(error)") }
        }
    }

    private func commandsConnected() {
        retryDelay = 100_000_000
        authenticate(commands)
        batchesTurns = false
        send(["INFO", "cluster"]) { [unowned self] reply in
            guard let reply else { return }
            guard let text = reply.text else { return unexpected("INFO cluster", reply) }
            batchesTurns = text.contains("cluster_enabled:0")
            logger.info(
                batchesTurns
                    ? "cluster: Redis is a single instance; a loop turn's presence changes go in one script call"
                    : "cluster: Redis is a Redis Cluster; one script call per client record",
                metadata: ["event": "cluster-link"])
        }
        // SCRIPT LOAD each, then the lease; the replies arrive in this order.
        for script in Script.allCases {
            send(["SCRIPT", "LOAD", script.source]) { [unowned self] reply in
                guard let sha = reply?.text else {
                    if let reply { unexpected("SCRIPT LOAD \(script)", reply) }
                    return
                }
                shas[script] = sha
            }
        }
        renewLease(isConnecting: true)
    }

    private func commandsClosed(_ why: String) {
        let wasUp = status.state == .up || status.state == .reconciling
        status.state = .down
        hasLease = false
        awaiting.removeAll(keepingCapacity: true)
        awaitingHead = 0
        if wasUp {
            logger.warning(
                "cluster: lost Redis at \(settings.endpoint) (\(why)); serving on, buffering up to \(settings.buffer) events",
                metadata: ["event": "cluster-down"])
        } else if retryDelay >= 1_600_000_000 {
            logger.debug("cluster: cannot reach Redis at \(settings.endpoint): \(why)")
        }
        retryLater()
    }

    private func subscriberConnected() {
        authenticate(subscriber)
        subscriber.subscribe(keys.takeoverChannel(settings.node)) { [unowned self] reply in
            guard let reply else { return }
            takeoverMessage(reply)
        }
        // A takeover published while we were not listening is found by the reconcile.
        if status.state == .up { reconcile(because: "takeover channel resubscribed") }
    }

    private func subscriberClosed(_ why: String) {
        logger.debug("cluster: takeover subscription closed: \(why)")
        retryLater()
    }

    /// AUTH first. The subscriber's only other command is SUBSCRIBE (its messages have their own
    /// closure), so every answer it gets otherwise is AUTH's.
    private func authenticate(_ connection: RedisConnection) {
        guard let password = settings.password else { return }
        let refused: RedisConnection.Reply = { [unowned self] reply in
            if let error = reply?.errorText {
                logger.error("cluster: Redis refused the password: \(error)", metadata: ["event": "cluster-down"])
            }
        }
        if connection === commands {
            send(["AUTH", password], reply: refused)
        } else {
            connection.onReply = refused
            connection.send(["AUTH", password])
        }
    }

    /// One retry timer for both connections, with back-off from 100 ms to 2 s.
    private func retryLater() {
        guard !isStopped else { return }
        _ = loop.arm(timers.retry, at: loop.now + retryDelay)
        retryDelay = min(retryDelay * 2, 2_000_000_000)
    }

    /// A reply of a type the caller did not expect: counted, logged, skipped.
    func unexpected(_ what: String, _ reply: RedisValue) {
        status.badReplies += 1
        logger.warning("cluster: unexpected reply to \(what): \(reply.kindName); skipped")
    }
}

extension ClusterLink {
    /// The workers have stopped: let their last offline events reach Redis, give up the lease, close.
    /// At most two seconds, so a dead Redis cannot hold up the exit.
    public func finish(on loop: EventLoop) throws(SystemError) {
        let deadline = loop.now + 2_000_000_000
        while loop.now < deadline, !held.isEmpty || feed.nextDeadline != nil { try loop.runTurn() }
        stop()
        while loop.now < deadline, isSending, awaitingHead < awaiting.count { try loop.runTurn() }
        close()
    }
}
