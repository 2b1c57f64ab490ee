// The control socket (docs/control.md), served on the supervisor's event loop: checks each peer's
// credentials, answers request lines with JSON lines, streams presence events to watchers. Every
// connection is non-blocking with bounded unsent bytes, so no reader can hold up the loop.
import ControlProtocol
import EventLoop
import HeartbeatConfig
import Logging
import Posix
import ServerCore

final class ControlServer {
    /// What comes back to this loop from the workers' threads.
    enum Delivery: Sendable {
        case presence(PresenceEvent)
        case clients(ControlConnection.Key, [ClientInfo])
        case client(ControlConnection.Key, id: String, ClientInfo?)
        case kicked(ControlConnection.Key, id: String, ClientInfo?)
    }

    static let maxConnections = 64
    /// A watcher with more unsent bytes than this is disconnected with `too-slow`.
    static let watchBacklog = 64 * 1_024
    /// A `clients` answer is encoded in pieces of about this size as the socket drains.
    static let refillBytes = 64 * 1_024
    /// How long a connection told its last line (an error, `too-slow`) gets to take it.
    static let closeGrace: UInt64 = 5_000_000_000
    /// The kernel's send buffer per connection (it doubles it): with `watchBacklog` it bounds what a
    /// watcher that stopped reading costs.
    static let sendBufferBytes: Int32 = 32 * 1_024

    private let loop: EventLoop
    private let server: Server
    private let logger: Logger
    private let mailbox: Mailbox<Delivery>
    private let configFile: String?
    private let reload: () -> Result<ReloadReport, ControlError>
    private let startedAt: UInt64
    private let startedAtWall: UInt64
    private var feed: PresenceFeed
    private var armedAt: UInt64?

    private var listener: Socket?
    private var path = ""
    private var fileIdentity: FileIdentity?
    private var access = ControlAccess(ownUID: Accounts.effectiveUserID(), groupID: nil, groupName: "")
    private var connections: [Int: ControlConnection] = [:]
    private var nextSerial: UInt64 = 1
    private var connectionHandler: EventLoop.HandlerID!
    private var timer: EventLoop.TimerHandlerID!
    private var readBuffer = [UInt8](repeating: 0, count: ControlRequest.maxLine)

    init(loop: EventLoop, server: Server, configFile: String?, offlineGrace: Duration, logger: Logger,
         reload: @escaping () -> Result<ReloadReport, ControlError>) throws(SystemError) {
        self.loop = loop
        self.server = server
        self.configFile = configFile
        self.logger = logger
        self.reload = reload
        startedAt = Clock.monotonicNanoseconds()
        startedAtWall = Clock.wallMilliseconds()
        feed = PresenceFeed(grace: nanosecondsOf(offlineGrace))
        mailbox = try Mailbox<Delivery>()
        try mailbox.attach(to: loop) { [unowned self] delivery in self.receive(delivery) }
        connectionHandler = loop.addHandler { [unowned self] descriptor, readiness in
            self.connectionReady(descriptor, readiness)
        }
        timer = loop.addTimerHandler { [unowned self] _ in self.expired() }
    }

    /// Hands presence events from the workers' threads to this loop. Give it to Server.start.
    var presenceSink: @Sendable (PresenceEvent) -> Void {
        { [mailbox] event in mailbox.post(.presence(event)) }
    }

    /// A reload changed `[events] offline_grace`: events from now on are held for the new time.
    func apply(offlineGrace: Duration) {
        feed.grace = nanosecondsOf(offlineGrace)
    }

    // MARK: The socket file

    /// Makes the socket at `control.socket`. A failure is logged and the daemon runs on without a
    /// control socket: serving heartbeats matters more than being asked about them.
    func open(_ control: Config.Control) {
        guard !control.socket.isEmpty else {
            logger.info("control socket disabled ([control] socket = \"\")")
            return
        }
        path = control.socket
        if !control.group.isEmpty {
            if let gid = Accounts.groupID(named: control.group) {
                access = ControlAccess(ownUID: access.ownUID, groupID: gid, groupName: control.group)
            } else {
                logger.error("control.group: there is no group named \(control.group); the control socket admits only root and uid \(access.ownUID)")
            }
        }
        do {
            try makeSocket()
        } catch {
            logger.error("cannot make the control socket at \(path): \(error); running without one")
            return
        }
        let group = access.groupID == nil ? "" : " group \(access.groupName)"
        logger.notice("control socket at \(path) (mode 0660\(group))")
    }

    private func makeSocket() throws(ControlSetupError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty, FileSystem.kind(of: directory) == nil {
            do { try FileSystem.makeDirectories(directory, mode: 0o755) } catch { throw .system(error) }
        }
        switch FileSystem.kind(of: path) {
        case nil:
            break
        case .socket:
            // A socket nobody answers on is left by a daemon that died; one that answers belongs to a
            // daemon still running, and taking it over would cut its operators off.
            guard !Socket.isUnixSocketServed(at: path) else { throw .inUse }
            do { try FileSystem.remove(path) } catch { throw .system(error) }
        case .directory, .other:
            throw .notASocket
        }
        do throws(SystemError) {
            let socket = try Socket.listenUnix(at: path)
            do throws(SystemError) {
                try FileSystem.setMode(path, 0o660)
                if let gid = access.groupID { try FileSystem.setGroup(path, gid) }
                let acceptHandler = loop.addHandler { [unowned self] _, _ in self.acceptReady() }
                try loop.register(socket.id, interest: .readable, handler: acceptHandler)
            } catch {
                socket.close()
                try? FileSystem.remove(path)
                throw error
            }
            fileIdentity = FileSystem.identity(of: path)
            listener = .some(socket)
        } catch {
            throw .system(error)
        }
    }

    /// The daemon is stopping: show every event still held back, tell watchers, close everything, and
    /// remove the socket file if it is still ours.
    func close() {
        publish(feed.flush())
        for connection in Array(connections.values) {
            if connection.isWatching {
                connection.replaceQueue(with: ControlError.shuttingDown.answer)
                flush(connection)
            }
            drop(connection)
        }
        guard let listener = listener.take() else { return }
        loop.unregister(listener.id)
        listener.close()
        if let fileIdentity, FileSystem.identity(of: path) == fileIdentity { try? FileSystem.remove(path) }
    }

    // MARK: Connections

    private func acceptReady() {
        while true {
            let accepted: Socket?
            do {
                accepted = try listener?.acceptUnix() ?? nil
            } catch {
                // EMFILE and the like: the listener stays level-triggered, the next turn tries again.
                logger.warning("control: accept failed: \(error)")
                return
            }
            guard let socket = accepted else { return }
            admit(socket)
        }
    }

    private func admit(_ socket: consuming Socket) {
        let peer: PeerCredentials
        do {
            peer = try socket.peerCredentials()
        } catch {
            logger.warning("control: cannot read the peer's credentials: \(error)")
            socket.close()
            return
        }
        guard access.admits(peer) else {
            logger.warning("control: refused uid \(peer.uid) (pid \(peer.pid)): not root, not uid \(access.ownUID)\(access.groupID == nil ? "" : ", not in group \(access.groupName)")")
            refuse(socket, ControlError.permissionDenied(access.refusal(peer)))
            return
        }
        guard connections.count < Self.maxConnections else {
            refuse(socket, .busy(limit: Self.maxConnections))
            return
        }
        let slot = socket.id.index
        try? socket.setSendBufferSize(Self.sendBufferBytes)
        do {
            try loop.register(socket.id, interest: [.readable, .peerClosed], handler: connectionHandler)
        } catch {
            logger.warning("control: cannot watch a new connection: \(error)")
            socket.close()
            return
        }
        let key = ControlConnection.Key(slot: slot, serial: nextSerial)
        nextSerial += 1
        connections[slot] = ControlConnection(socket: socket, key: key, peer: peer)
    }

    /// One error line, sent without waiting (an empty socket buffer takes it), then close.
    private func refuse(_ socket: consuming Socket, _ error: ControlError) {
        let line = Array(error.answer.line.utf8)
        _ = line.withUnsafeBytes { bytes in try? socket.send(bytes) }
        socket.shutdownWrite()
        socket.close()
    }

    private func connectionReady(_ descriptor: DescriptorID, _ readiness: Readiness) {
        guard let connection = connections[descriptor.index] else { return }
        if !readiness.isDisjoint(with: [.error, .hangUp]) {
            // Both directions are gone: nothing sent from now on can arrive.
            drop(connection)
            return
        }
        if readiness.contains(.writable) {
            flush(connection)
            guard connections[descriptor.index] === connection else { return }
        }
        if !readiness.isDisjoint(with: [.readable, .peerClosed]) {
            read(connection)
        }
    }

    private func read(_ connection: ControlConnection) {
        guard !connection.isPeerDone, !connection.isAwaiting, !connection.isClosing else { return }
        let result = readBuffer.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in try connection.socket?.read(into: buffer) ?? .done(0) }
        }
        switch result {
        case .failure:
            drop(connection)
        case .success(.wouldBlock):
            return
        case .success(.done(0)):
            connection.isPeerDone = true
            flush(connection)
        case .success(.done(let count)):
            // A watcher has nothing more to ask: what it writes is read only to notice when it leaves.
            guard !connection.isWatching else { return }
            connection.input += readBuffer[..<count]
            handleInput(connection)
        }
    }

    /// Handles each complete request line in turn, stopping while a worker has one.
    private func handleInput(_ connection: ControlConnection) {
        while !connection.isAwaiting, !connection.isWatching, !connection.isClosing {
            guard let line = connection.nextLine() else {
                if connection.input.count >= ControlRequest.maxLine {
                    // No way to find where this request ends: answer and close.
                    connection.input = []
                    finish(connection, with: .requestTooLong(limit: ControlRequest.maxLine))
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
            logger.notice("control: kick \(id) asked by uid \(connection.peer.uid) (pid \(connection.peer.pid))\(note.map { ": \($0)" } ?? "")")
            connection.isAwaiting = true
            server.kick(id, note: note) { [mailbox] info in mailbox.post(.kicked(key, id: id, info)) }
        case .reload:
            logger.notice("control: reload asked by uid \(connection.peer.uid) (pid \(connection.peer.pid))")
            switch reload() {
            case .success(let report): connection.append(report.json)
            case .failure(let error): connection.append(error.answer)
            }
        case .watch:
            connection.isWatching = true
            connection.input = []
            connection.append(JSONObject([
                "ok": .bool(true), "watching": .bool(true), "offline_grace_ms": .integer(Int64(clamping: feed.grace / 1_000_000)),
            ]))
        }
    }

    private func statusReport() -> StatusReport {
        let snapshot = server.snapshot()
        return StatusReport(
            version: heartbeatdVersion, pid: Int(processID()), startedAtMS: startedAtWall,
            uptimeMS: (Clock.monotonicNanoseconds() - startedAt) / 1_000_000, workers: server.workerCount,
            clients: snapshot.identified, connected: snapshot.connected, sessionsTotal: snapshot.sessionsTotal,
            heartbeatsTotal: snapshot.heartbeats,
            reaps: Reason.allCases.map { ($0.rawValue, snapshot.reaps[$0, default: 0]) },
            acceptErrors: snapshot.acceptErrors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            configFile: configFile, offlineGraceMS: feed.grace / 1_000_000, offlineHeld: feed.heldCount,
            watchers: connections.values.count { $0.isWatching }
        )
    }

    // MARK: Answers from the workers

    private func receive(_ delivery: Delivery) {
        switch delivery {
        case .presence(let event):
            publish(feed.receive(event, now: loop.now))
            rearm()
        case .clients(let key, let clients):
            guard let connection = awaiting(key) else { return }
            connection.queue(clients.sorted { $0.id < $1.id })
            resume(connection)
        case .client(let key, let id, let info):
            guard let connection = awaiting(key) else { return }
            connection.append(info.map { $0.json(into: JSONObject(["ok": .bool(true)])) } ?? ControlError.notConnected(id: id).answer)
            resume(connection)
        case .kicked(let key, let id, let info):
            if info != nil { logger.notice("control: kicked \(id)") }
            guard let connection = awaiting(key) else { return }
            connection.append(info.map { $0.json(into: JSONObject(["ok": .bool(true)])) } ?? ControlError.notConnected(id: id).answer)
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

    // MARK: Watchers

    /// Appends each event to every watcher; one that falls `watchBacklog` bytes behind is cut off.
    private func publish(_ events: [PresenceEvent]) {
        guard !events.isEmpty, connections.values.contains(where: \.isWatching) else { return }
        var lines: [UInt8] = []
        for event in events { event.json.appendLine(to: &lines) }
        for connection in connections.values where connection.isWatching {
            if connection.unsentCount + lines.count > Self.watchBacklog {
                logger.warning("control: watcher uid \(connection.peer.uid) (pid \(connection.peer.pid)) fell more than \(Self.watchBacklog) bytes behind; disconnected")
                finish(connection, with: .tooSlow(limit: Self.watchBacklog))
                continue
            }
            connection.append(bytes: lines)
            flush(connection)
        }
    }

    /// Queues `error` as the last line, then closes once it is sent or after `closeGrace`.
    private func finish(_ connection: ControlConnection, with error: ControlError) {
        connection.replaceQueue(with: error.answer)
        connection.isWatching = false
        connection.isClosing = true
        connection.closeDeadline = loop.now + Self.closeGrace
        flush(connection)
        rearm()
    }

    // MARK: Writing

    /// Sends what the kernel takes, encoding more of a long answer as it goes; waits for EPOLLOUT
    /// for the rest. Closes a connection that has said its last line or whose peer is done asking.
    private func flush(_ connection: ControlConnection) {
        while true {
            if connection.unsentCount == 0 { connection.refill(upTo: Self.refillBytes) }
            guard connection.unsentCount > 0 else { break }
            let result = connection.output[connection.sent...].withUnsafeBytes { bytes in
                Result { () throws(SystemError) in try connection.socket?.send(bytes) ?? .wouldBlock }
            }
            switch result {
            case .failure:
                drop(connection)
                return
            case .success(.wouldBlock):
                updateInterest(connection)
                return
            case .success(.done(let count)):
                connection.didSend(count)
            }
        }
        if connection.isClosing || (connection.isPeerDone && !connection.isAwaiting && !connection.isWatching) {
            drop(connection)
            return
        }
        updateInterest(connection)
    }

    /// Reading stops while a worker has the request, after the peer's FIN and once closing; writing
    /// is watched only while bytes wait. Level-triggered epoll needs both kept exact.
    private func updateInterest(_ connection: ControlConnection) {
        var interest: Readiness = []
        if !connection.isPeerDone, !connection.isAwaiting, !connection.isClosing { interest.formUnion([.readable, .peerClosed]) }
        if !connection.isDrained { interest.insert(.writable) }
        guard interest != connection.interest, connections[connection.key.slot] === connection else { return }
        connection.interest = interest
        try? loop.modify(DescriptorID(number: Int32(connection.key.slot)), interest: interest)
    }

    private func drop(_ connection: ControlConnection) {
        guard connections[connection.key.slot] === connection else { return }
        connections[connection.key.slot] = nil
        guard let socket = connection.socket.take() else { return }
        loop.unregister(socket.id)
        socket.shutdownWrite()
        socket.close()
    }

    // MARK: Timers

    /// One timer for the earliest of: a held offline falling due, a gap in seq timing out, a closing
    /// connection's deadline. A later deadline than the one armed waits for that timer to re-arm.
    private func rearm() {
        var next = feed.nextDeadline
        for case let deadline? in connections.values.map(\.closeDeadline) { next = min(next ?? deadline, deadline) }
        guard let next else { return }
        if let armed = armedAt, armed <= next { return }
        armedAt = next
        _ = loop.arm(timer, at: next)
    }

    private func expired() {
        armedAt = nil
        publish(feed.expire(now: loop.now))
        for connection in Array(connections.values) {
            if let deadline = connection.closeDeadline, deadline <= loop.now { drop(connection) }
        }
        rearm()
    }
}

/// Who may use the control socket: root, the daemon's own user, and members of `[control] group`
/// (its id is the peer's primary group, or the group database lists the peer's user in it).
struct ControlAccess {
    let ownUID: UInt32
    let groupID: UInt32?
    let groupName: String

    func admits(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID { return true }
        guard let groupID else { return false }
        if peer.gid == groupID { return true }
        guard let user = Accounts.userName(of: peer.uid) else { return false }
        return Accounts.groups(ofUser: user, primary: peer.gid).contains(groupID)
    }

    func refusal(_ peer: PeerCredentials) -> String {
        let group = groupID == nil ? "" : " and members of group \(groupName)"
        return "uid \(peer.uid) may not use the control socket: only root, uid \(ownUID)\(group) may"
    }
}

/// Why the control socket could not be made.
enum ControlSetupError: Error, CustomStringConvertible {
    case inUse
    case notASocket
    case system(SystemError)

    var description: String {
        switch self {
        case .inUse: "another process is serving it"
        case .notASocket: "the path exists and is not a socket"
        case .system(let error): "\(error)"
        }
    }
}
