// Presence events leave a worker once per loop turn: the turn's events together, in seq order, at its
// end; and never behind an answer the worker gives in the same turn (a kick's offline comes first).
import ControlProtocol
import Synchronization
import Testing

@testable import ServerCore

@Suite struct PresenceTests {
    @Test func aTurnsEventsArePostedTogetherAtItsEnd() throws {
        let rig = try Rig()
        // Socket pairs: each HELLO is readable at once, so one turn takes all three.
        let peers = try (0..<3).map { _ in try rig.connect() }
        for (index, peer) in peers.enumerated() { peer.send("HELLO batch-\(index)\n") }
        try rig.worker.loop.runTurn()
        #expect(rig.presence.batches == [3])
        let events = rig.presence.all
        #expect(events.map(\.kind) == [.online, .online, .online])
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
        // A turn without events posts nothing.
        try rig.turn()
        #expect(rig.presence.batches == [3])
    }

    @Test func aKickIsAnsweredAfterItsOfflineEvent() throws {
        let rig = try Rig()
        let peer = try rig.connect()
        #expect(try rig.identify(peer, as: "kick-2") != nil)
        let owner = try #require(rig.shared.registry.owner(of: "kick-2"))
        let presence = rig.presence
        let seenByAnswer = Mutex<[PresenceEvent.Kind]?>(nil)
        let kick = ControlQuery.kick(slot: owner.slot, serial: owner.serial, note: nil) { _ in
            seenByAnswer.withLock { $0 = presence.all.map(\.kind) }
        }
        rig.worker.mailbox.post(.control(kick))
        #expect(try rig.turns { seenByAnswer.withLock { $0 } != nil })
        #expect(seenByAnswer.withLock { $0 } == [.online, .offline])
    }
}
