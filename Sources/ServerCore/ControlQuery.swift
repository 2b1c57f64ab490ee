// The control socket's questions only a worker can answer (list clients, describe one, kick one), as
// messages on its Mailbox; it answers on its own thread through the reply closure, which posts back to
// the control socket's loop. The heartbeat path is untouched: a query is one pass over the table.
import ControlProtocol
import Posix
import Primitives

enum ControlQuery: Sendable {
    /// Every identified session whose id matches `pattern` (all of them when nil).
    case clients(matching: Glob?, reply: @Sendable ([ClientInfo]) -> Void)
    /// The session at `slot` with `serial` (what the registry says owns an id), or nil once it is gone.
    case client(slot: Int32, serial: UInt32, reply: @Sendable (ClientInfo?) -> Void)
    /// Reaps that session with reason `kicked` (`BYE kicked`); the reply describes it as it was.
    case kick(slot: Int32, serial: UInt32, note: String?, reply: @Sendable (ClientInfo?) -> Void)
}

extension Worker {
    func answer(_ query: ControlQuery) {
        // An answer never overtakes the events of the turn so far (Presence.swift), nor a kick's offline.
        postPresence()
        let now = clock()
        let wall = Clock.wallMilliseconds()
        switch query {
        case .clients(let pattern, let reply):
            var found: [ClientInfo] = []
            for slot in sessions.slots where sessions.isOpen(slot) {
                guard let id = sessions[slot].id?.description, pattern?.matches(id) ?? true else { continue }
                found.append(describe(sessions[slot], id: id, now: now, wall: wall))
            }
            reply(found)
        case .client(let slot, let serial, let reply):
            guard sessions.holds(Int(slot), serial: serial), let id = sessions[Int(slot)].id else { return reply(nil) }
            reply(describe(sessions[Int(slot)], id: id.description, now: now, wall: wall))
        case .kick(let slot, let serial, let note, let reply):
            guard sessions.holds(Int(slot), serial: serial), let id = sessions[Int(slot)].id else { return reply(nil) }
            let described = describe(sessions[Int(slot)], id: id.description, now: now, wall: wall)
            reap(Int(slot), because: .kicked, note: note)
            postPresence()
            reply(described)
        }
    }

    /// `now` (monotonic) and `wall` are read together once per query, so `connected_at` is the wall
    /// clock's view of the monotonic instant the session was accepted.
    private func describe(_ session: borrowing Session, id: String, now: UInt64, wall: UInt64) -> ClientInfo {
        let age = (now &- session.connectedAt) / 1_000_000
        return ClientInfo(
            id: id, peer: "\(session.peer)", worker: index,
            intervalMS: UInt64(session.intervalMilliseconds), timeoutMS: session.timeout / 1_000_000,
            connectedAtMS: wall > age ? wall - age : 0,
            lastHeardMSAgo: now > session.lastHeard ? (now - session.lastHeard) / 1_000_000 : 0
        )
    }
}

extension Server {
    /// Every connected client whose id matches `pattern`, in no particular order. `reply` runs once,
    /// on the thread of the worker that answered last.
    public func clients(matching pattern: Glob?, reply: @escaping @Sendable ([ClientInfo]) -> Void) {
        let gathering = Gathering(parts: shared.mailboxes.count, reply: reply)
        for mailbox in shared.mailboxes {
            mailbox.post(.control(.clients(matching: pattern, reply: { gathering.add($0) })))
        }
    }

    /// The client connected as `id`, or nil. `reply` runs on its worker's thread, or at once when no
    /// session holds the id.
    public func client(_ id: String, reply: @escaping @Sendable (ClientInfo?) -> Void) {
        guard let id = ClientID(id), let owner = shared.registry.owner(of: id) else { return reply(nil) }
        shared.mailboxes[owner.worker].post(.control(.client(slot: owner.slot, serial: owner.serial, reply: reply)))
    }

    /// Ends the session of `id` with reason `kicked`; `reply` gets it as it was, or nil when no session
    /// held the id. `note` goes into the log line and the `offline` event.
    public func kick(_ id: String, note: String?, reply: @escaping @Sendable (ClientInfo?) -> Void) {
        guard let id = ClientID(id), let owner = shared.registry.owner(of: id) else { return reply(nil) }
        shared.mailboxes[owner.worker].post(
            .control(.kick(slot: owner.slot, serial: owner.serial, note: note, reply: reply)))
    }
}

/// Collects one part of an answer from each worker and hands over the whole once the last arrives.
private final class Gathering: Sendable {
    private let state: Locked<(remaining: Int, found: [ClientInfo])>
    private let reply: @Sendable ([ClientInfo]) -> Void

    init(parts: Int, reply: @escaping @Sendable ([ClientInfo]) -> Void) {
        state = Locked((parts, []))
        self.reply = reply
    }

    func add(_ part: [ClientInfo]) {
        let whole: [ClientInfo]? = state.withLock { state in
            state.found += part
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            defer { state.found = [] }
            return state.found
        }
        if let whole { reply(whole) }
    }
}
