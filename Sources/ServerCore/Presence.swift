// Presence events leave a worker here: built from the session at the moment it came or went, with the
// seq the registry handed out, kept for the loop turn, and passed together at its end to the sink the
// executable gave Server.start (it posts them to the control socket's Mailbox: one post and at most one
// eventfd write per turn, not per event). Only HELLO and reap call this, never a heartbeat.
import ControlProtocol
import Posix
import Primitives

extension Worker {
    func announce(
        _ kind: PresenceEvent.Kind, _ session: borrowing Session, seq: UInt64, reason: Reason? = nil,
        note: String? = nil
    ) {
        guard let id = session.id, shared.isPresenceWanted.load(ordering: .relaxed) else { return }
        let duration = kind == .online ? 0 : (loop.now &- session.connectedAt) / 1_000_000
        presenceBatch.append(
            PresenceEvent(
                seq: seq, kind: kind, timeMS: Clock.wallMilliseconds(), id: id.description, peer: "\(session.peer)",
                worker: index, reason: reason?.rawValue, durationMS: duration, note: note
            ))
    }

    /// Hands this turn's events to the sink, in seq order (the turn's end, and before anything the worker
    /// tells another thread that a reader could see ahead of them: a control answer, its hand-off part).
    func postPresence() {
        guard !presenceBatch.isEmpty else { return }
        onPresence(presenceBatch)
        presenceBatch = []
    }
}
