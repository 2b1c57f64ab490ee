// One worker: one thread, one event loop, the sessions it accepted. Everything here runs on the
// worker's own thread; other threads reach it only through its Mailbox.
import ControlProtocol
import EventLoop
import Logging
import Posix
import TLS
import TimerWheel
import WireProtocol

final class Worker {
    let index: Int
    let loop: EventLoop
    /// EMFILE/ENFILE on a listener: it is not watched for a moment, and logged once a second at most.
    let acceptPause: AcceptPause
    let mailbox: Mailbox<WorkerMessage>
    let stats = WorkerStats()
    var settings: Settings
    var logger: Logger
    let shared: Shared
    var listeners: [Listener]

    /// Sessions by slot: the one the loop gave the session's registration (`loop.reserve`), so this
    /// worker's tables are as long as its own sessions, whatever descriptor numbers the others hold.
    var sessions = SessionTable()
    /// The rare per-session bytes, by slot, kept out of the table so an idle session does not pay for them:
    /// an incomplete line carried to the next read (at most max_line bytes), and reply bytes the kernel
    /// would not take yet (past max_line the client is reaped for overload). An entry is never empty.
    var partials: [Int: [UInt8]] = [:]
    var unsent: [Int: [UInt8]] = [:]
    /// A TLS session's SSL object and handshake state (Worker+TLS.swift); plain sessions have no entry.
    var tls: [Int: TLSState] = [:]
    /// Challenge auth: the HELLO and nonce of a session between CHALLENGE and AUTH (Worker+Auth.swift).
    var challenges: [Int: PendingChallenge] = [:]
    /// Sessions on a listener behind a proxy whose PROXY header has not arrived yet (Worker+Proxy.swift).
    var awaitingProxyHeader: Set<Int> = []
    /// Of those, the ones on a TLS listener: the header comes in plain text, the handshake after it.
    var proxyBeforeTLS: Set<Int> = []
    var nextSerial: UInt32 = 1
    var isDraining = false
    var logBudget = SessionLogBudget()
    var connectRefusals = ConnectRefusalLog()
    var authFailures = AuthFailureLog()
    /// Where presence events go, a loop turn's at once (set by Server.start; Presence.swift), and this turn's.
    var onPresence: @Sendable ([PresenceEvent]) -> Void = { _ in }
    var presenceBatch: [PresenceEvent] = []
    /// Restart and upgrade: sessions waiting to be restored, the pacing of `BYE restart`, frozen sessions.
    var handoff = HandoffWork()

    /// One read buffer for all sessions: a partial line is copied to its front, then the socket is read after it.
    let input: UnsafeMutableRawBufferPointer
    /// Replies of one read batch, sent with one write. Reserved once, so a heartbeat allocates nothing.
    var output: [UInt8] = []

    var sessionHandler: EventLoop.HandlerID!
    /// The worker's timer kinds (set by `run`): each job owns its timers' payloads whole.
    var timers: Timers!
    /// Monotonic nanoseconds: CLOCK_MONOTONIC, or a test's own clock (the loop reads the same one).
    let clock: () -> UInt64

    static let inputCapacity = 65_536 * 2
    /// The most connections one listener's readiness accepts in a loop turn. The listener is level-triggered,
    /// so the rest wait in the kernel's queue for the next turn: a storm of connects is taken in slices of
    /// this size between the heartbeats, timers and messages of the connected clients.
    static let acceptsPerTurn = 64
    /// Kernel send buffer per client (the kernel doubles it): bounds what a client that never reads costs.
    static let sendBufferBytes: Int32 = 8_192

    /// `clock` is for tests: a worker on an injected clock reaps, re-arms and ages sessions by the instants it
    /// gives (the loop still waits in real time for as long as that clock says is left).
    init(
        index: Int, settings: Settings, listeners: [Listener], shared: Shared, tick: UInt64,
        mailbox: Mailbox<WorkerMessage>, logger: Logger, clock: (() -> UInt64)? = nil, eventsPerWait: Int = 512
    ) throws(SystemError) {
        self.index = index
        self.settings = settings
        self.listeners = listeners
        self.shared = shared
        var logger = logger
        logger[metadataKey: "worker"] = "\(index)"
        logger.logLevel = settings.logLevel
        self.logger = logger
        loop = try EventLoop(tick: tick, eventsPerWait: eventsPerWait, clock: clock)
        loop.busyPollNanoseconds = settings.busyPoll
        acceptPause = AcceptPause(loop: loop)
        self.clock = clock ?? Clock.monotonicNanoseconds
        self.mailbox = mailbox
        input = .allocate(byteCount: Self.inputCapacity, alignment: 16)
        output.reserveCapacity(4 * 65_536)
    }

    deinit { input.deallocate() }

    /// Runs until drained: `prepare`, then the loop's turns.
    func run() throws(SystemError) {
        try prepare()
        restoreInherited()
        try loop.run()
    }

    /// Registers listeners, the mailbox and the handlers, once, before the first turn. Apart from `run`,
    /// a test calls it and then drives `loop.runTurn()` itself, turn by turn, on its own clock.
    func prepare() throws(SystemError) {
        // Room for 65,536 sessions up front, never resident until used (EventLoop.reserveCapacity says why).
        loop.reserveCapacity(min(settings.maxClients, 1 << 16))
        sessionHandler = loop.addSlotHandler { [unowned self] slot, readiness in
            self.sessionReady(slot, readiness)
        }
        let acceptHandler = loop.addHandler { [unowned self] descriptor, _ in
            self.acceptReady(descriptor)
        }
        for listener in listeners {
            let interest: Readiness = listener.isShared ? [.readable, .exclusive] : .readable
            try loop.register(listener.id, interest: interest, handler: acceptHandler)
        }
        try mailbox.attach(to: loop) { [unowned self] message in self.take(message) }
        timers = Timers(
            session: loop.addTimerHandler { [unowned self] payload in self.sessionExpired(payload) },
            drain: loop.addTimerHandler { [unowned self] _ in self.drainExpired() },
            logSummary: loop.addTimerHandler { [unowned self] _ in self.logSuppressedSummary() },
            authSummary: loop.addTimerHandler { [unowned self] _ in self.logAuthFailures() },
            restartPace: loop.addTimerHandler { [unowned self] _ in self.paceRestarts() }
        )
        loop.onTurnEnd = { [unowned self] in
            self.postPresence()
            self.stats.lastTurn.store(self.loop.now, ordering: .relaxed)
            // loop.now was read when epoll_wait returned: this is the turn's work, not its wait.
            self.stats.turns.record(nanoseconds: self.clock() &- self.loop.now)
        }
        stats.lastTurn.store(loop.now, ordering: .relaxed)
    }

    // MARK: Accepting

    func acceptReady(_ descriptor: DescriptorID) {
        guard !isDraining, let listener = listeners.first(where: { $0.id == descriptor }) else { return }
        for _ in 0..<Self.acceptsPerTurn {
            var peer = listener.address
            let accepted: Socket?
            do {
                accepted = try listener.socket?.accept(peer: &peer) ?? nil
            } catch {
                acceptFailed(error, listener: listener)
                return
            }
            guard let accepted else { return }
            guard admitsConnection(from: peer) else {
                refuse(accepted, peer: peer)
                continue
            }
            adopt(accepted, peer: peer, kind: listener.kind, expectsProxyHeader: listener.expectsProxyHeader)
        }
    }

    /// Makes a connected client socket one of this worker's sessions: everything accept does after
    /// accept4. The socket must be non-blocking and carry its options already (an accepted one inherits
    /// them from the listener). Used by `acceptReady`, and by whatever else hands this worker a
    /// connection (a test, a restart's hand-off); past `max_clients` it is reaped `overload` at once.
    /// Behind a proxy the per-address limit waits for the header's address (Worker+Proxy.swift); on a
    /// TLS listener the handshake comes first (Worker+TLS.swift).
    @discardableResult
    func adopt(
        _ socket: consuming Socket, peer: SocketAddress, kind: Listener.Kind = .plain, expectsProxyHeader: Bool = false
    ) -> Int? {
        let now = loop.now
        let slot = loop.reserve(socket.id, handler: sessionHandler)
        let serial = nextSerial
        nextSerial = (nextSerial + 1) % Owner.serialLimit
        let session = Session(socket: socket, peer: peer, serial: serial, now: now)
        guard enroll(session, at: slot, kind: kind, expectsProxyHeader: expectsProxyHeader) else { return nil }
        if kind == .tls {
            expectsProxyHeader ? awaitProxyHeaderBeforeTLS(slot) : startHandshake(slot)
            return slot
        }
        armSessionTimer(slot, at: now + settings.helloTimeout)
        return slot
    }

    /// The steps every new session takes, accepted or handed over (`restore`), once `slot` is reserved for
    /// it: into the table, counted, admitted against the limits, watched by epoll. False when it was reaped
    /// instead (over the limits, or epoll refused it).
    func enroll(
        _ session: consuming Session, at slot: Int, interest: Readiness = [.readable, .peerClosed],
        kind: Listener.Kind = .plain, expectsProxyHeader: Bool = false
    ) -> Bool {
        let peer = session.peer
        sessions.insert(session, at: slot)
        stats.connected.add(1, ordering: .relaxed)
        stats.sessionsTotal.add(1, ordering: .relaxed)
        let isWithinLimits = shared.admission.enter(
            peer.host, maxClients: settings.maxClients,
            maxPerAddress: expectsProxyHeader ? 0 : settings.maxClientsPerAddress)
        if expectsProxyHeader { awaitingProxyHeader.insert(slot) }
        do {
            try loop.watch(slot: slot, interest: interest)
        } catch {
            logger.error("cannot watch a new connection", metadata: ["peer": "\(peer)", "error": "\(error)"])
            reap(slot, because: .overload, farewell: .silent)
            return false
        }
        guard isWithinLimits else {
            // A TLS client would read a plaintext line as a broken record: it is told nothing.
            reap(slot, because: .overload, farewell: kind == .tls ? .silent : .error(.serverFull, ""))
            return false
        }
        return true
    }

    /// EMFILE/ENFILE: stop watching the listener for a moment instead of spinning on it.
    private func acceptFailed(_ error: SystemError, listener: Listener) {
        stats.countAcceptError(error.errno.name)
        if acceptPause.recordFailure() != nil {
            logger.error(
                "accept failed",
                metadata: ["event": "overload", "error": "\(error)", "clients": "\(shared.admission.total)"])
        }
        guard
            error.errno == .tooManyOpenFiles || error.errno == .tooManyOpenFilesInSystem
                || error.errno == .noBufferSpace || error.errno == .outOfMemory
        else { return }
        acceptPause.pause(listener.id, resumingWith: listener.isShared ? [.readable, .exclusive] : .readable)
    }

    // MARK: Timers

    /// A session's timer: the hello timeout, or its heartbeat deadline as last armed.
    func sessionExpired(_ payload: UInt64) {
        let slot = Int(UInt32(truncatingIfNeeded: payload))
        guard sessions.holds(slot, serial: UInt32(truncatingIfNeeded: payload >> 32)) else { return }
        sessions[slot].timer = nil
        let now = loop.now
        guard sessions[slot].isIdentified else {
            helloExpired(slot)
            return
        }
        // A turn that could not hear every ready socket (a full epoll batch: a storm, or a worker starved of
        // CPU) may not have read this one's heartbeat yet: read it before calling it silent.
        if sessions[slot].deadline <= now, loop.mayHaveMoreReady {
            sessionReady(slot, .readable)
            guard sessions.isOpen(slot), sessions[slot].timer == nil else { return }
        }
        // Lazy re-arm: heartbeats only moved lastHeard; the wheel learns of it here.
        let deadline = sessions[slot].deadline
        if deadline > now {
            armSessionTimer(slot, at: deadline)
        } else {
            reap(slot, because: .timeout, lateness: now - deadline)
        }
    }

    /// Watches listener `position` again (a hand-off that did not happen).
    func resumeAccepting(_ position: Int) {
        guard !isDraining, position < listeners.count else { return }
        let listener = listeners[position]
        try? loop.modify(listener.id, interest: listener.isShared ? [.readable, .exclusive] : .readable)
    }

    // MARK: Messages

    func receive(_ message: WorkerMessage) {
        switch message {
        case .replace(let slot, let serial):
            guard sessions.holds(Int(slot), serial: serial) else { return }
            reap(Int(slot), because: .replaced)
        case .settings(let settings):
            self.settings = settings
            logger.logLevel = settings.logLevel
            loop.busyPollNanoseconds = settings.busyPoll
            endRevokedSessions()
            for listener in listeners {
                do { try listener.socket?.setKeepalive(settings.keepalive) } catch {
                    logger.warning("cannot apply TCP keepalive settings", metadata: ["error": "\(error)"])
                }
            }
        case .drain:
            beginDrain()
        case .ping:
            break
        case .control(let query):
            answer(query)
        case .handOff(let pacing, let acrossExec, let reply):
            beginHandOff(pacing: pacing, acrossExec: acrossExec, reply: reply)
        case .resume:
            resumeAfterHandOff()
        case .restoreMore:
            restoreNext()
        }
    }

}

extension Worker {
    /// One timer kind per job. A session's timer carries its serial and slot; the others need no payload (a paused
    /// listener's timer is `acceptPause`'s own).
    struct Timers {
        let session: EventLoop.TimerHandlerID
        let drain: EventLoop.TimerHandlerID
        let logSummary: EventLoop.TimerHandlerID
        let authSummary: EventLoop.TimerHandlerID
        let restartPace: EventLoop.TimerHandlerID
    }
}
