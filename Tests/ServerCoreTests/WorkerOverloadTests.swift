// Overload, in-process: past max_clients (or max_clients_per_address) a new session is told
// `ERR server-full` and reaped at once; a client that does not read its replies is reaped once more than
// max_line bytes wait for it. Both are reaped `overload`, in the documented order.
import Posix
import Testing

@testable import ServerCore

@Suite struct WorkerOverloadTests {
    @Test func serverFull() throws {
        let rig = try Rig(settings: testSettings(maxClients: 2))
        let first = try rig.connect()
        let second = try rig.connect()
        var watch: Watch?
        let third = try rig.connect { watch = rig.watch($0, isAdopted: false) }
        rig.expectTornDown(try #require(watch), reason: .overload, farewell: "ERR server-full", timersLeft: true)
        // The two within the limit are untouched, and once one leaves there is room again.
        #expect(try rig.identify(first, as: "in-1") == "OK in-1 interval=1000 timeout=2000")
        #expect(try rig.identify(second, as: "in-2") == "OK in-2 interval=1000 timeout=2000")
        #expect(third.isClosed)
        second.send("BYE\n")
        #expect(try rig.turns { !rig.reapLines(of: second).isEmpty })
        let fourth = try rig.connect()
        #expect(try rig.identify(fourth, as: "in-4") == "OK in-4 interval=1000 timeout=2000")
    }

    @Test func fullForOneAddressOnly() throws {
        let rig = try Rig(settings: testSettings(maxClientsPerAddress: 1))
        _ = try rig.connect()
        var watch: Watch?
        _ = try rig.connect { watch = rig.watch($0, isAdopted: false) }
        rig.expectTornDown(try #require(watch), reason: .overload, farewell: "ERR server-full", timersLeft: true)
        #expect(rig.shared.admission.total == 1)
    }

    @Test func clientThatDoesNotReadIsReapedSilently() throws {
        let rig = try Rig(settings: testSettings(maxLine: 256))
        let peer = try rig.connect()
        #expect(try rig.identify(peer, as: "deaf-1") == "OK deaf-1 interval=1000 timeout=2000")
        try peer.shrinkReceiveBuffer()
        let watch = rig.watch(peer, id: "deaf-1")
        // ~70 KiB of replies in one batch: the kernel takes at most its 16 KiB send buffer, the rest waits
        // in `unsent`, which is then far past max_line.
        let tag = String(repeating: "t", count: 30)
        peer.send(String(repeating: "PING \(tag)\n", count: 2_000))
        #expect(try rig.turnsUntilReaped(watch))
        let line = try #require(rig.reapLines(of: peer).first)
        #expect(line.metadata["reason"] == "overload")
        #expect(line.moment.map { !$0.isSlotOpen && $0.owner == nil && $0.peerSawEnd } == true)
        // Silent: whatever the client got is PONGs, cut off, and never an ERR or BYE.
        let moment = try #require(line.moment)
        #expect(moment.peerLines.allSatisfy { $0 == "OK deaf-1 interval=1000 timeout=2000" || $0 == "PONG \(tag)" })
        #expect(rig.worker.unsent.isEmpty && rig.worker.partials.isEmpty, "its side tables go with it")
    }
}

/// `busy_poll_us` reaches each worker's loop when it is made, and again with a reload's settings.
@Test func theBusyPollSpanReachesTheLoopAndAReloadChangesIt() throws {
    var settings = testSettings()
    settings.busyPoll = 50_000
    let rig = try Rig(workers: 2, settings: settings)
    #expect(rig.workers.map(\.loop.busyPollNanoseconds) == [50_000, 50_000])
    settings.busyPoll = 0
    rig.workers[1].receive(.settings(settings))
    #expect(rig.workers.map(\.loop.busyPollNanoseconds) == [50_000, 0])
}
