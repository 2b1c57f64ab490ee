// Restart and upgrade, a worker's part: freeze its sessions into hand-off records (after ending, paced,
// those that cannot be handed over), serve them again if the upgrade failed, and restore sessions a
// predecessor handed over — through `enroll`, the accept path's own steps, with their deadlines kept.
import EventLoop
import Handoff
import Posix
import Primitives

/// How `BYE restart` is spread over the sessions that cannot be handed over: over `window`
/// nanoseconds, each at its share of the window plus up to `jitter` (0...1) of that share at random,
/// so they come back one by one instead of all at once.
public struct Pacing: Sendable {
    public var window: UInt64
    public var jitter: Double
    public init(window: UInt64, jitter: Double) {
        self.window = window
        self.jitter = min(max(jitter, 0), 1)
    }
}

/// One worker's frozen sessions and listeners, and where its serials stand.
struct WorkerHandoff: Sendable {
    var worker: Int
    var nextSerial: UInt32
    var sessions: [HandoffState.Session] = []
    var listeners: [HandoffState.Listener] = []
    /// The worker's old epoll, still holding the frozen sessions (`EventLoop.setAside`): whoever runs the
    /// sessions next closes it, off their critical path. Nil if none was set aside.
    var retired: DescriptorID?
}

/// A worker's hand-off bookkeeping, in one stored property.
struct HandoffWork {
    /// Handed over by the predecessor and not restored yet (`restoreInherited`, `restoreNext`).
    var inherited: [(descriptor: DescriptorID, record: HandoffState.Session)] = []
    /// Slots whose session cannot be handed over (a TLS session's keys live in OpenSSL): the TLS side
    /// table inserts its slots here; a reap removes them.
    var cannotHandOver: Set<Int> = []
    /// Slots of sessions restored from a predecessor: systemd's fd store may hold their sockets a moment
    /// longer, so closing ours does not take them out of epoll and their reap unregisters them explicitly.
    var restored: Set<Int> = []
    /// The listeners rest while a takeover's restore takes more than one round.
    var isAcceptingHeld = false
    var schedule: [(at: UInt64, slot: Int, serial: UInt32)] = []
    var next = 0
    var reply: (@Sendable (WorkerHandoff) -> Void)?
    /// Whether the frozen sockets must stay open across an `execve` (an upgrade): FD_CLOEXEC cleared on
    /// each, one `fcntl` per session that a stop, whose sockets go in flight, does without.
    var acrossExec = true
    var frozen: [Int] = []
    /// After a takeover: told once every inherited session is back (`Shared.restored`), with the rounds
    /// it took and the time spent in them.
    var onRestored: (@Sendable (RestoreTiming) -> Void)?
    var rounds = 0
    var registering: UInt64 = 0
}

extension Session {
    /// A session as the predecessor had it: same serial, id, interval, timeout factor, instants.
    init(restoring socket: consuming Socket, peer: SocketAddress, record: HandoffState.Session) {
        self.socket = .some(socket)
        self.peer = peer
        self.serial = record.serial % Owner.serialLimit
        self.connectedAt = record.connectedAt
        self.lastHeard = record.lastHeard
        // nil if the record's id breaks the rule: `restore` then ends the session.
        self.id = ClientID(record.id)
        self.timeoutFactor = record.timeoutFactor
        self.intervalMilliseconds = record.intervalMilliseconds
    }
}

extension SocketAddress {
    init(_ address: HandoffAddress) {
        self.init(isIPv6: address.family == 6, rawBytes: address.bytes, port: address.port)
    }
}

extension HandoffAddress {
    init(_ address: SocketAddress) {
        self.init(family: address.isIPv6 ? 6 : 4, bytes: address.rawBytes, port: address.port)
    }
}

extension Worker {
    /// How many handed-over sessions a loop turn restores: about one epoll batch (512 events), so a
    /// round's waiting beats are answered in the next turn.
    static let restoresPerTurn = 512

    /// Whether the session at `slot` can be carried to a successor (its socket and these fields are all of it).
    func isHandoverable(_ slot: Int) -> Bool {
        !handoff.cannotHandOver.contains(slot)
    }

    // MARK: Handing over

    /// Stops accepting; sessions that cannot be handed over get `BYE restart` spread over the pacing
    /// window; then the rest are frozen and `reply` gets their records.
    func beginHandOff(pacing: Pacing, acrossExec: Bool = true, reply: @escaping @Sendable (WorkerHandoff) -> Void) {
        guard !isDraining, handoff.reply == nil else {
            postPresence()
            return reply(WorkerHandoff(worker: index, nextSerial: nextSerial))
        }
        handoff.reply = reply
        handoff.acrossExec = acrossExec
        for listener in listeners { try? loop.modify(listener.id, interest: []) }
        var due: [(slot: Int, serial: UInt32)] = []
        for slot in sessions.slots where sessions.isOpen(slot) && !isHandoverable(slot) {
            due.append((slot, sessions[slot].serial))
        }
        let start = loop.now
        let share = due.isEmpty ? 0 : pacing.window / UInt64(due.count)
        var random = SystemRandomNumberGenerator()
        handoff.schedule = due.enumerated().map { position, session in
            let jitter =
                share == 0 ? 0 : UInt64(Double(share) * pacing.jitter * Double.random(in: 0..<1, using: &random))
            return (start + UInt64(position) * share + jitter, session.slot, session.serial)
        }.sorted { $0.at < $1.at }
        handoff.next = 0
        paceRestarts()
    }

    /// The pacing timer: `BYE restart` to every session now due; then wait for the next, or freeze.
    func paceRestarts() {
        guard handoff.reply != nil else { return }
        let now = loop.now
        while handoff.next < handoff.schedule.count, handoff.schedule[handoff.next].at <= now {
            let due = handoff.schedule[handoff.next]
            if sessions.holds(due.slot, serial: due.serial) { reap(due.slot, because: .restart) }
            handoff.next += 1
        }
        if handoff.next < handoff.schedule.count {
            _ = loop.arm(timers.restartPace, at: handoff.schedule[handoff.next].at)
        } else {
            freeze()
        }
    }

    /// Every session left becomes a record, its socket no longer watched and, for an upgrade, kept open
    /// across exec (its local address is looked up only if another record has its peer: `Server.handOff`);
    /// one not yet identified (or draining) is told `BYE restart` instead: it has nothing to keep.
    private func freeze() {
        guard let reply = handoff.reply else { return }
        var part = WorkerHandoff(worker: index, nextSerial: nextSerial)
        for slot in sessions.slots where sessions.isOpen(slot) {
            guard let id = sessions[slot].id, !sessions[slot].isDraining, isHandoverable(slot),
                !handoff.acrossExec || (try? sessions[slot].socket?.keepAcrossExec()) != nil
            else {
                reap(slot, because: .restart)
                continue
            }
            if let timer = sessions[slot].timer { loop.cancel(timer) }
            sessions[slot].timer = nil
            handoff.frozen.append(slot)
            part.sessions.append(
                HandoffState.Session(
                    descriptor: loop.descriptor(slot: slot).rawValue, worker: index, id: id.description,
                    serial: sessions[slot].serial,
                    intervalMilliseconds: sessions[slot].intervalMilliseconds,
                    timeoutFactor: sessions[slot].timeoutFactor, lastHeard: sessions[slot].lastHeard,
                    connectedAt: sessions[slot].connectedAt, peer: HandoffAddress(sessions[slot].peer),
                    local: .unrecorded, unsent: unsent[slot] ?? [], partial: partials[slot] ?? []))
        }
        // One fresh epoll for what the worker still serves instead of an EPOLL_CTL_DEL per session; the old
        // one goes with the state. Should the kernel refuse a new epoll, each session is taken out.
        if let retired = try? loop.setAside() {
            part.retired = retired
        } else {
            for slot in handoff.frozen { loop.unwatch(slot: slot) }
        }
        for listener in listeners where !listener.isShared {
            guard (try? listener.socket?.keepAcrossExec()) != nil else { continue }
            part.listeners.append(
                HandoffState.Listener(
                    descriptor: listener.id.rawValue, worker: index, address: HandoffAddress(listener.address)))
        }
        // The successor's seq starts after the registry's last: every event before the freeze goes first.
        postPresence()
        reply(part)
    }

    /// The exec failed: watch the frozen sessions and the listeners again, timers at their deadlines.
    func resumeAfterHandOff() {
        guard handoff.reply != nil else { return }
        handoff.reply = nil
        for slot in handoff.frozen where sessions.isOpen(slot) {
            sessions[slot].socket?.closeOnExec()
            var interest: Readiness = [.readable, .peerClosed]
            if unsent[slot] != nil { interest.insert(.writable) }
            do {
                try loop.watch(slot: slot, interest: interest)
            } catch {
                reap(slot, because: .reset)
                continue
            }
            armSessionTimer(slot, at: sessions[slot].deadline)
        }
        handoff.frozen = []
        for position in listeners.indices {
            listeners[position].socket?.closeOnExec()
            resumeAccepting(position)
        }
    }

    // MARK: Taking over

    /// Restores what `Server` sorted out of the predecessor's hand-off for this worker, `restoresPerTurn`
    /// at a time with a loop turn between (`restoreNext`), longest unheard first: those sessions' next
    /// beats came first, so they are the ones waiting in their sockets now, and epoll hands readable
    /// sockets out in the order they were registered. The oldest waiting beat is answered a turn after
    /// its session is back, not after every session is; the rest wait no longer than they did.
    func restoreInherited() {
        // Newest last-heard first in the array: the rounds take from its end.
        handoff.inherited.sort { $0.record.lastHeard > $1.record.lastHeard }
        if handoff.inherited.count > Self.restoresPerTurn {
            // New connections wait in the backlog until every handed-over session is back: admission
            // counts those first, as the predecessor did.
            for listener in listeners { try? loop.modify(listener.id, interest: []) }
            handoff.isAcceptingHeld = true
        }
        guard handoff.inherited.isEmpty else { return restoreNext() }
        reportRestored()
    }

    /// One round of the restore: the next `restoresPerTurn` inherited sessions (all of them when
    /// `everything`: a message that must see every session — a control query, a drain, another
    /// hand-off — finishes the restore first). While some are left, the worker posts itself the next
    /// round; after the last, it accepts again.
    func restoreNext(everything: Bool = false) {
        guard !handoff.inherited.isEmpty else { return }
        let count = everything ? handoff.inherited.count : min(Self.restoresPerTurn, handoff.inherited.count)
        let start = clock()
        for _ in 0..<count {
            let (descriptor, record) = handoff.inherited.removeLast()
            restore(Socket(reclaiming: descriptor), record)
        }
        handoff.rounds += 1
        handoff.registering += clock() &- start
        guard handoff.inherited.isEmpty else { return mailbox.post(.restoreMore) }
        reportRestored()
        guard handoff.isAcceptingHeld else { return }
        handoff.isAcceptingHeld = false
        for position in listeners.indices { resumeAccepting(position) }
    }

    /// This worker's part of the takeover's log line (Server.start's `onRestored`), once.
    private func reportRestored() {
        guard let report = handoff.onRestored else { return }
        handoff.onRestored = nil
        shared.restored(rounds: handoff.rounds, registering: handoff.registering, report: report)
    }

    /// Every message but the restore's own and the watchdog's probe sees every handed-over session. The
    /// probe comes right after a start under a watchdog: had it finished the restore, the sessions after
    /// the first round would all be registered in one go, their waiting beats unanswered meanwhile.
    func take(_ message: WorkerMessage) {
        switch message {
        case .restoreMore: return restoreNext()
        case .ping: break
        default: restoreNext(everything: true)
        }
        receive(message)
    }

    /// Makes a handed-over connection a session again, saying nothing to the client: the id is claimed
    /// without an event, the serial, connected-since and last-heard are kept, unsent and partial bytes
    /// are back, and the timer is armed at the kept deadline — one that passed during the gap fires
    /// next turn as a `timeout` whose `late_ms` is the gap, unless what the client sent meanwhile moved
    /// it (`sessionExpired` reads it first when that turn's epoll batch was full). Past the limits it is
    /// reaped like an accept.
    func restore(_ socket: consuming Socket, _ record: HandoffState.Session) {
        let slot = loop.reserve(socket.id, handler: sessionHandler)
        let session = Session(restoring: socket, peer: SocketAddress(record.peer), record: record)
        if let id = session.id {
            _ = shared.registry.resume(id, for: Owner(worker: index, slot: Int32(slot), serial: session.serial))
        }
        stats.identified.add(1, ordering: .relaxed)
        nextSerial = max(nextSerial, (session.serial + 1) % Owner.serialLimit)
        var interest: Readiness = [.readable, .peerClosed]
        if !record.unsent.isEmpty { interest.insert(.writable) }
        handoff.restored.insert(slot)
        guard enroll(session, at: slot, interest: interest) else { return }
        guard sessions[slot].isIdentified else {
            return reap(slot, because: .protocol, note: "the handed-over id breaks the rule: \(ClientID.rule)")
        }
        if !record.unsent.isEmpty { unsent[slot] = record.unsent }
        if !record.partial.isEmpty { partials[slot] = record.partial }
        armSessionTimer(slot, at: sessions[slot].deadline)
    }
}
