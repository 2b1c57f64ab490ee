import Testing

// Drain, in-process: on `.drain` every identified client is told `BYE shutdown` and half-closed; each is
// reaped `shutdown` when it closes, and the loop stops with the last one. Whoever has not closed by the
// drain timeout (on the manual clock) is cut off; a session that never said HELLO goes at once.
@testable import EventLoop
@testable import ServerCore

@Suite struct WorkerDrainTests {
    @Test func clientsThatCloseAreReapedAndTheLoopStops() throws {
        let rig = try Rig()
        let peer = try rig.connect()
        _ = try rig.identify(peer, as: "leaver")
        let watch = rig.watch(peer, id: "leaver")
        rig.worker.mailbox.post(.drain)
        #expect(
            try rig.turns {
                peer.pump()
                return peer.lines.last == "BYE shutdown" && peer.isClosed
            })
        #expect(rig.reapLines(of: peer).isEmpty, "waits for the client to close")
        #expect(!rig.worker.loop.isStopped)
        peer.close()
        #expect(try rig.turnsUntilReaped(watch))
        // The BYE went out before; the reap itself has nothing more to say. The drain timer is left armed.
        rig.expectTornDown(watch, reason: .shutdown, farewell: nil, timersLeft: true)
        #expect(rig.worker.loop.isStopped)
    }

    @Test func sessionWithoutHelloGoesAtOnce() throws {
        let rig = try Rig()
        let peer = try rig.connect()
        let watch = rig.watch(peer)
        rig.worker.mailbox.post(.drain)
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .shutdown, farewell: "BYE shutdown")
        #expect(rig.worker.loop.isStopped, "nobody left to wait for")
    }

    @Test func drainTimeoutCutsOffWhoeverStays() throws {
        let rig = try Rig(settings: testSettings(interval: .seconds(60), drainTimeout: .seconds(2)))
        let stayer = try rig.connect()
        _ = try rig.identify(stayer, as: "stayer")
        let start = rig.clock.now
        rig.worker.mailbox.post(.drain)
        #expect(
            try rig.turns {
                stayer.pump()
                return stayer.lines.last == "BYE shutdown"
            })
        let watch = rig.watch(stayer, id: "stayer")
        rig.clock.now = start + 1_999_000_000
        try rig.turn()
        #expect(rig.reapLines(of: stayer).isEmpty && !rig.worker.loop.isStopped)
        rig.clock.now = start + 2_000_000_000
        try rig.turn()
        #expect(rig.worker.loop.isStopped)
        rig.expectTornDown(watch, reason: .shutdown, farewell: nil)
    }

    @Test func drainingSessionStillTimesOut() throws {
        let rig = try Rig(settings: testSettings(drainTimeout: .seconds(30)))
        let origin = rig.clock.now
        let peer = try rig.connect()
        _ = try rig.identify(peer, as: "slow")
        rig.worker.mailbox.post(.drain)
        try rig.turn()
        // Its heartbeat deadline (2 s) comes before the drain timeout: the wheel still reaps it on time (its
        // BYE timeout finds the socket already half-closed, so the client gets no second line).
        let watch = rig.watch(peer, id: "slow")
        rig.clock.now = origin + 2_000_000_000
        try rig.turn()
        rig.expectTornDown(watch, reason: .timeout, farewell: nil, timersLeft: true)
        #expect(rig.worker.loop.isStopped)
    }
}
