// Takeover: a HELLO for an id that has a live session ends the older one with `BYE replaced`, within one
// worker (at once) and across two workers of one process (through the older one's mailbox). The registry
// keeps the newest owner throughout, and a message naming a session that is gone does nothing.
import ControlProtocol
import Testing

@testable import ServerCore

@Suite struct WorkerTakeoverTests {
    @Test func sameWorker() throws {
        let rig = try Rig()
        let old = try rig.connect()
        #expect(try rig.identify(old, as: "dup-1") == "OK dup-1 interval=1000 timeout=2000")
        let new = try rig.connect()
        let watch = rig.watch(old, id: "dup-1")
        #expect(try rig.identify(new, as: "dup-1") == "OK dup-1 interval=1000 timeout=2000")
        let owner = try #require(rig.shared.registry.owner(of: "dup-1"))
        #expect(Int(owner.slot) == new.slot)
        // The new session's timer is armed, so one timer is left in the wheel.
        rig.expectTornDown(watch, reason: .replaced, farewell: "BYE replaced", newOwner: owner, timersLeft: true)
        #expect(rig.reapLines(of: old).first?.metadata["event"] == "replaced")
        // online, online, replaced: in seq order, the replaced event after the new session's online.
        let events = rig.presence.all.filter { $0.id == "dup-1" }
        let ordered = events.sorted { $0.seq < $1.seq }.map(\.kind)
        #expect(ordered == [.online, .online, .replaced])
        new.send("PING after\n")
        #expect(
            try rig.turns {
                new.pump()
                return new.lines.last == "PONG after"
            })
    }

    @Test func acrossTwoWorkers() throws {
        let rig = try Rig(workers: 2)
        let first = try rig.connect(to: 0)
        #expect(try rig.identify(first, as: "roamer", worker: 0) == "OK roamer interval=1000 timeout=2000")
        let second = try rig.connect(to: 1)
        let watchFirst = rig.watch(first, id: "roamer", worker: 0)
        #expect(try rig.identify(second, as: "roamer", worker: 1) == "OK roamer interval=1000 timeout=2000")
        let secondOwner = try #require(rig.shared.registry.owner(of: "roamer"))
        #expect(secondOwner.worker == 1)
        // Worker 0 learns of it only from its mailbox, in its own turn.
        #expect(try rig.turnsUntilReaped(watchFirst))
        rig.expectTornDown(watchFirst, reason: .replaced, farewell: "BYE replaced", newOwner: secondOwner)
        // And back: a third session on worker 0 takes the id from worker 1.
        let third = try rig.connect(to: 0)
        let watchSecond = rig.watch(second, id: "roamer", worker: 1)
        #expect(try rig.identify(third, as: "roamer", worker: 0) == "OK roamer interval=1000 timeout=2000")
        let thirdOwner = try #require(rig.shared.registry.owner(of: "roamer"))
        #expect(thirdOwner.worker == 0 && Int(thirdOwner.slot) == third.slot)
        #expect(try rig.turnsUntilReaped(watchSecond))
        rig.expectTornDown(watchSecond, reason: .replaced, farewell: "BYE replaced", newOwner: thirdOwner)
    }

    @Test func olderSessionEndingOnItsOwnLeavesTheNewerOwnerInPlace() throws {
        let rig = try Rig(workers: 2)
        let first = try rig.connect(to: 0)
        _ = try rig.identify(first, as: "racer", worker: 0)
        let second = try rig.connect(to: 1)
        _ = try rig.identify(second, as: "racer", worker: 1)
        let owner = try #require(rig.shared.registry.owner(of: "racer"))
        // Worker 0 has the replace message and the FIN in the same turn; whichever it handles first, the
        // id stays with worker 1 and the old session is logged as replaced.
        let watch = rig.watch(first, id: "racer", worker: 0)
        first.finish()
        #expect(try rig.turnsUntilReaped(watch))
        let reason = try #require(rig.reapLines(of: first).first?.metadata["reason"])
        let isEOF = reason == "eof"
        rig.expectTornDown(
            watch, reason: isEOF ? .eof : .replaced, farewell: isEOF ? nil : "BYE replaced", newOwner: owner)
        #expect(rig.reapLines(of: first).first?.metadata["event"] == "replaced")
        #expect(rig.shared.registry.owner(of: "racer") == owner)
    }

    @Test func replaceNamingAGoneSessionDoesNothing() throws {
        let rig = try Rig()
        let old = try rig.connect()
        _ = try rig.identify(old, as: "gone-1")
        let stale = try #require(rig.shared.registry.owner(of: "gone-1"))
        old.send("BYE\n")
        #expect(try rig.turns { !rig.reapLines(of: old).isEmpty })
        // The next session may get the same descriptor number (lowest first, unless another test took it).
        let next = try rig.connect()
        _ = try rig.identify(next, as: "other-1")
        let current = try #require(rig.shared.registry.owner(of: "other-1"))
        rig.worker.mailbox.post(.replace(slot: stale.slot, serial: stale.serial))
        // The same slot with an earlier serial: a session that is gone, whatever holds the slot now.
        rig.worker.mailbox.post(.replace(slot: current.slot, serial: current.serial &- 1))
        try rig.turn()
        next.send("PING still\n")
        #expect(
            try rig.turns {
                next.pump()
                return next.lines.last == "PONG still"
            })
        #expect(rig.reapLines(of: next).isEmpty)
    }
}
