// The control socket (docs/control.md), served on the supervisor's event loop: the dispatch. Request
// lines come in on each connection and are answered with JSON lines, here or by the workers (their
// answers come back through a mailbox). The socket file and access are ControlSocket's, `watch` is
// ControlWatchers', and every connection's output is a bounded BufferedConnection.
import BufferedIO
import ControlProtocol
import EventLoop
import HeartbeatConfig
import Logging
import Posix
import ServerCore

final class ControlServer {
    /// What comes back to this loop from the workers' threads.
    enum Delivery: Sendable {
        /// A worker's loop turn's events (Presence.swift).
        case presence([PresenceEvent])
        case clients(ControlConnection.Key, [ClientInfo])
        case client(ControlConnection.Key, id: String, ClientInfo?)
        case kicked(ControlConnection.Key, id: String, ClientInfo?)
    }

    static let maxConnections = 64
    /// How long a connection told its last line (an error, `too-slow`) gets to take it.
    static let closeGrace: UInt64 = 5_000_000_000
    /// The kernel's send buffer per connection (it doubles it): with `ControlWatchers.backlog` it bounds
    /// what a watcher that stopped reading costs.
    static let sendBufferBytes: Int32 = 32 * 1_024

    private let loop: EventLoop
    private let server: Server
    private let logger: Logger
    private let mailbox: Mailbox<Delivery>
    private let configFile: String?
    private let reload: () -> Result<ReloadReport, ControlError>
    /// Starts an upgrade; the closure it is given runs (on this loop) only if the upgrade failed.
    var upgrade: (@escaping (ControlError) -> Void) -> Void = { $0(.upgradeFailed("not available")) }
    private let startedAt: UInt64
    private let startedAtWall: UInt64
    private let socket: ControlSocket
    private let watchers: ControlWatchers
    private let table: ConnectionTable
    private var connections: [Int: ControlConnection] = [:]
    private var nextSerial: UInt64 = 1
    private var readBuffer = [UInt8](repeating: 0, count: ControlRequest.maxLine)
    /// The cluster link: gets each presence event on this loop as the mailbox is drained, before the
    /// watchers do (see `feedPresence`).
    private var presenceConsumer: ((PresenceEvent) -> Void)?

    init(
        loop: EventLoop, server: Server, configFile: String?, offlineGrace: Duration, logger: Logger,
        reload: @escaping () -> Result<ReloadReport, ControlError>
    ) throws(SystemError) {
        self.loop = loop
        self.server = server
        self.configFile = configFile
        self.logger = logger
        self.reload = reload
        startedAt = Clock.monotonicNanoseconds()
        startedAtWall = Clock.wallMilliseconds()
        socket = ControlSocket(loop: loop, logger: logger)
        watchers = ControlWatchers(loop: loop, grace: nanosecondsOf(offlineGrace), logger: logger)
        watchers.onWatched = { [server] isWanted in server.wantPresence(isWanted) }
        watchers.updateWanted()
        table = ConnectionTable(loop: loop)
        mailbox = try Mailbox<Delivery>()
        try mailbox.attach(to: loop) { [unowned self] delivery in self.receive(delivery) }
        table.onReadable = { [unowned self] io in
            if let connection = connections[io.descriptor.index] { read(connection) }
        }
        socket.onAdmit = { [unowned self] socket, peer in admit(socket, peer: peer) }
    }

    /// The cluster link's part of `status`, when the daemon is a cluster node.
    var clusterReport: (() -> ClusterReport?)?

    /// Hands presence events from the workers' threads to this loop. Give it to Server.start.
    var presenceSink: @Sendable ([PresenceEvent]) -> Void {
        { [mailbox] events in mailbox.post(.presence(events)) }
    }

    /// A reload changed `[events] offline_grace`: events from now on are held for the new time.
    func apply(offlineGrace: Duration) {
        watchers.apply(grace: nanosecondsOf(offlineGrace))
    }

    /// The cluster link reads every presence event: workers post them whether anyone watches or not
    /// (Server's default), to this server's mailbox only, and `consumer` gets each one here. One post and
    /// at most one eventfd write per worker loop turn that had events (docs/benchmarks.md, "Cluster").
    func feedPresence(to consumer: @escaping (PresenceEvent) -> Void) {
        presenceConsumer = consumer
        watchers.onWatched = nil
        server.wantPresence(true)
    }

    /// A successor continues the predecessor's presence numbering (see PresenceFeed.resume).
    func resumePresence(after seq: UInt64) {
        watchers.resume(after: seq)
    }

    /// Makes the socket file; see ControlSocket.open.
    func open(_ control: Config.Control) {
        socket.open(control)
    }

    /// The daemon is stopping: show every event still held back, tell watchers, close everything, and
    /// remove the socket file if it is still ours.
    func close() {
        watchers.close()
        for io in table.all { io.close(.closed) }
        socket.close()
    }

    // MARK: Connections

    private func admit(_ socket: consuming Socket, peer: PeerCredentials) {
        guard connections.count < Self.maxConnections else {
            ControlSocket.refuse(socket, .busy(limit: Self.maxConnections))
            return
        }
        try? socket.setSendBufferSize(Self.sendBufferBytes)
        let io: BufferedConnection
        do {
            io = try table.open(socket)
        } catch {
            logger.warning("control: cannot watch a new connection: \(error)")
            return
        }
        io.finishGrace = Self.closeGrace
        let key = ControlConnection.Key(slot: io.descriptor.index, serial: nextSerial)
        let connection = ControlConnection(io: io, key: key, peer: peer)
        nextSerial += 1
        connections[connection.key.slot] = connection
        io.onClose = { [unowned self, unowned connection] _ in
            watchers.remove(connection)
            if connections[connection.key.slot] === connection { connections[connection.key.slot] = nil }
        }
    }

    private func read(_ connection: ControlConnection) {
        guard !connection.isPeerDone, !connection.isAwaiting, !connection.io.isClosing else { return }
        let result = readBuffer.withUnsafeMutableBytes { buffer in connection.io.read(into: buffer) }
        switch result {
        case nil, .wouldBlock?:
            return
        case .done(0)?:
            connection.isPeerDone = true
            flush(connection)
        case .done(let count)?:
            // A watcher has nothing more to ask: what it writes is read only to notice when it leaves.
            guard !connection.isWatching else { return }
            connection.input += readBuffer[..<count]
            handleInput(connection)
        }
    }

    /// Handles each complete request line in turn, stopping while a worker has one.
    private func handleInput(_ connection: ControlConnection) {
        while !connection.isAwaiting, !connection.isWatching, !connection.io.isClosing {
            guard let line = connection.nextLine() else {
                if connection.input.count >= ControlRequest.maxLine {
                    // No way to find where this request ends: answer and close.
                    connection.input = []
                    connection.finish(with: .requestTooLong(limit: ControlRequest.maxLine))
                }
                break
            }
            let request: ControlRequest
            do {
                request = try ControlRequest(parsing: line)
            } catch {
                connection.append(error.answer)
                continue
            }
            handle(request, from: connection)
        }
        flush(connection)
    }

    /// Sends what the socket takes; a connection whose peer is done asking closes once all is out.
    private func flush(_ connection: ControlConnection) {
        if connection.isPeerDone, !connection.isAwaiting, !connection.isWatching {
            connection.io.closeWhenDrained()
        } else {
            connection.io.flush()
        }
    }

    private func handle(_ request: ControlRequest, from connection: ControlConnection) {
        let key = connection.key
        switch request {
        case .status:
            connection.append(statusReport().json)
        case .clients(let pattern):
            connection.isAwaiting = true
            server.clients(matching: pattern) { [mailbox] clients in mailbox.post(.clients(key, clients)) }
        case .client(let id):
            connection.isAwaiting = true
            server.client(id) { [mailbox] info in mailbox.post(.client(key, id: id, info)) }
        case .kick(let id, let note):
            logger.notice(
                "control: kick \(id) asked by uid \(connection.peer.uid) (pid \(connection.peer.pid))\(note.map { ": \($0)" } ?? "")"
            )
            connection.isAwaiting = true
            server.kick(id, note: note) { [mailbox] info in mailbox.post(.kicked(key, id: id, info)) }
        case .reload:
            logger.notice("control: reload asked by uid \(connection.peer.uid) (pid \(connection.peer.pid))")
            switch reload() {
            case .success(let report): connection.append(report.json)
            case .failure(let error): connection.append(error.answer)
            }
        case .watch:
            watchers.add(connection)
        case .upgrade:
            logger.notice("control: upgrade asked by uid \(connection.peer.uid) (pid \(connection.peer.pid))")
            connection.isAwaiting = true
            let key = connection.key
            upgrade { [unowned self] error in
                guard let connection = awaiting(key) else { return }
                connection.append(error.answer)
                resume(connection)
            }
        }
    }

    private func statusReport() -> StatusReport {
        let snapshot = server.snapshot()
        var report = StatusReport(
            version: heartbeatdVersion, pid: Int(processID()), startedAtMS: startedAtWall,
            uptimeMS: (Clock.monotonicNanoseconds() - startedAt) / 1_000_000, workers: server.workerCount,
            clients: snapshot.identified, connected: snapshot.connected, sessionsTotal: snapshot.sessionsTotal,
            heartbeatsTotal: snapshot.heartbeats,
            reaps: Reason.allCases.map { ($0.rawValue, snapshot.reaps[$0, default: 0]) },
            acceptErrors: snapshot.acceptErrors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            configFile: configFile, offlineGraceMS: watchers.feed.grace / 1_000_000,
            offlineHeld: watchers.feed.heldCount,
            watchers: watchers.count
        )
        report.cluster = clusterReport?()
        return report
    }

    // MARK: Answers from the workers

    private func receive(_ delivery: Delivery) {
        switch delivery {
        case .presence(let events):
            for event in events {
                presenceConsumer?(event)
                watchers.receive(event)
            }
        case .clients(let key, let clients):
            guard let connection = awaiting(key) else { return }
            connection.queue(clients.sorted { $0.id < $1.id })
            resume(connection)
        case .client(let key, let id, let info):
            guard let connection = awaiting(key) else { return }
            connection.append(
                info.map { $0.json(into: JSONObject(["ok": .bool(true)])) } ?? ControlError.notConnected(id: id).answer)
            resume(connection)
        case .kicked(let key, let id, let info):
            if info != nil { logger.notice("control: kicked \(id)") }
            guard let connection = awaiting(key) else { return }
            connection.append(
                info.map { $0.json(into: JSONObject(["ok": .bool(true)])) } ?? ControlError.notConnected(id: id).answer)
            resume(connection)
        }
    }

    private func awaiting(_ key: ControlConnection.Key) -> ControlConnection? {
        guard let connection = connections[key.slot], connection.key == key, connection.isAwaiting else { return nil }
        return connection
    }

    /// The answer is queued: send it and go on with any request that came in meanwhile.
    private func resume(_ connection: ControlConnection) {
        connection.isAwaiting = false
        handleInput(connection)
    }
}
