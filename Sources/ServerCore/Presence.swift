// Presence events leave a worker here: built from the session at the moment it came or went, with the
// seq the registry handed out, and passed to the sink the executable gave Server.start (it posts them
// to the control socket's Mailbox). Only HELLO and reap call this, never a heartbeat.
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
        onPresence(
            PresenceEvent(
                seq: seq, kind: kind, timeMS: Clock.wallMilliseconds(), id: String(id), peer: "\(session.peer)",
                worker: index, reason: reason?.rawValue, durationMS: duration, note: note
            ))
    }
}
