// The check every reap test ends with: docs/design.md "Reaping — the one teardown path", seen from the
// log line. By the time the one line is logged, the wheel entry is gone, the descriptor is out of epoll
// (its generation moved), the slot is empty, the registry let the id go (unless a newer session owns
// it), the admission count is down, and the client has its farewell line followed by our FIN.
import ControlProtocol
import Testing

@testable import EventLoop
@testable import ServerCore

/// A session being watched, with what it looked like before its reap.
struct Watch {
    let peer: Peer
    let id: String?
    let worker: Int
    /// nil for a session the worker reaps while adopting it (no registration to compare with yet).
    let tokenBefore: UInt64?
    let admittedBefore: Int
    let linesBefore: [String]
}

extension Rig {
    /// Watches `peer`'s session from now on (installs the log witness).
    func watch(_ peer: Peer, id: String? = nil, worker index: Int = 0, isAdopted: Bool = true) -> Watch {
        peer.pump()
        witness(slot: peer.slot, id: id, peer: peer, worker: index)
        return Watch(
            peer: peer, id: id, worker: index, tokenBefore: isAdopted ? workers[index].loop.token(peer.slot) : nil,
            admittedBefore: shared.admission.total + (isAdopted ? 0 : 1), linesBefore: peer.lines
        )
    }

    /// Turns until `watch`'s session has been reaped; false when it was not within a few seconds.
    func turnsUntilReaped(_ watch: Watch) throws -> Bool {
        try turns(watch.worker) { !reapLines(of: watch.peer).isEmpty }
    }

    /// Checks the teardown of `watch`'s session: one line with `reason`, every step done before it,
    /// `farewell` the last line the client got (nil: no new line at all), and `newOwner` left in the registry.
    func expectTornDown(
        _ watch: Watch, reason: Reason, farewell: String?, newOwner: Owner? = nil, timersLeft: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let lines = reapLines(of: watch.peer)
        #expect(lines.count == 1, "one line per reap: \(lines.map(\.message))", sourceLocation: sourceLocation)
        guard let line = lines.first, let moment = line.moment else {
            Issue.record("no reap line seen by the witness", sourceLocation: sourceLocation)
            return
        }
        #expect(line.metadata["reason"] == reason.rawValue, sourceLocation: sourceLocation)
        #expect(line.metadata["client.id"] == watch.id, sourceLocation: sourceLocation)
        // 1. the wheel entry was cancelled (no other timer is armed in these tests, unless said so).
        if !timersLeft { #expect(!moment.hasArmedTimer, "a timer is still armed", sourceLocation: sourceLocation) }
        // 2. out of epoll: the registration's generation moved on.
        if let before = watch.tokenBefore {
            #expect(moment.token != before, "still registered with epoll", sourceLocation: sourceLocation)
        }
        // 3. out of the table, the registry and the admission counts.
        #expect(!moment.isSlotOpen, "the slot still holds the session", sourceLocation: sourceLocation)
        #expect(
            moment.owner == newOwner, "registry: \(String(describing: moment.owner))",
            sourceLocation: sourceLocation)
        #expect(moment.admitted == watch.admittedBefore - 1, sourceLocation: sourceLocation)
        // 4. and 5. the farewell, then our FIN, had reached the client before the line was written.
        if watch.peer.isOpen {
            let new = Array(moment.peerLines.dropFirst(watch.linesBefore.count))
            if let farewell {
                #expect(new.last == farewell, "\(new)", sourceLocation: sourceLocation)
            } else {
                #expect(new.isEmpty, "\(new)", sourceLocation: sourceLocation)
            }
            #expect(moment.peerSawEnd, "the socket was not shut down and closed first", sourceLocation: sourceLocation)
        }
        // 6. then, for a client that had an id, its presence event.
        if let id = watch.id {
            let last = presence.all.last { $0.id == id && $0.kind != .online }
            let kind: PresenceEvent.Kind = newOwner == nil ? .offline : .replaced
            #expect(last?.kind == kind, sourceLocation: sourceLocation)
            #expect(last?.reason == reason.rawValue, sourceLocation: sourceLocation)
        }
        book.witness = nil
    }
}
