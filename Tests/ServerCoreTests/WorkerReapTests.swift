// Every reap reason of one worker, driven turn by turn on a manual clock, each ending in the documented
// teardown order (TeardownOrder.swift); and the timeout's lateness as logic on that clock: the reap comes
// at the first tick boundary at or after the deadline, never earlier, less than a tick later.
import ControlProtocol
import Synchronization
import Testing

@testable import ServerCore

@Suite struct WorkerReapTests {
    /// Identified as `id`, 30 ms after the wheel's origin, so its deadline is not on a tick boundary.
    private func identified(_ rig: Rig, _ id: String) throws -> Peer {
        rig.clock.advance(milliseconds: 30)
        let peer = try rig.connect()
        #expect(try rig.identify(peer, as: id) == "OK \(id) interval=1000 timeout=2000")
        return peer
    }

    @Test func eof() throws {
        let rig = try Rig()
        let peer = try identified(rig, "eof-1")
        let watch = rig.watch(peer, id: "eof-1")
        peer.finish()
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .eof, farewell: nil)
    }

    /// A session's timer names its slot and serial: one that outlived its session (a timer kind whose
    /// cancel was missed, or a payload replayed) finds nothing when the loop has given the slot to another.
    @Test func aStaleSessionTimerLeavesTheSessionNowInItsSlotAlone() throws {
        let rig = try Rig()
        let first = try identified(rig, "gone-1")
        let slot = first.slot
        let stale = UInt64(rig.worker.sessions[slot].serial) << 32 | UInt64(slot)
        let watch = rig.watch(first, id: "gone-1")
        first.finish()
        #expect(try rig.turnsUntilReaped(watch))
        let second = try rig.connect()
        #expect(second.slot == slot, "the loop hands the freed slot out first")
        rig.worker.sessionExpired(stale)
        let isOpen = rig.worker.sessions.isOpen(slot)
        let hasTimer = isOpen && rig.worker.sessions[slot].timer != nil
        #expect(isOpen && hasTimer, "the new session keeps its slot and its hello timer")
        #expect(try rig.identify(second, as: "here-2") == "OK here-2 interval=1000 timeout=2000")
    }

    @Test func reset() throws {
        let rig = try Rig()
        let peer = try rig.connect(over: .tcp)
        #expect(try rig.identify(peer, as: "rst-1") == "OK rst-1 interval=1000 timeout=2000")
        let watch = rig.watch(peer, id: "rst-1")
        peer.close(abort: true)
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .reset, farewell: nil)
        #expect(rig.reapLines(of: peer).first?.metadata["error"] == "ECONNRESET")
    }

    @Test func timeoutComesAtTheFirstTickBoundaryAfterTheDeadline() throws {
        let rig = try Rig()
        let origin = rig.clock.now
        let peer = try identified(rig, "quiet-1")
        let deadline = origin + 2_030_000_000
        let watch = rig.watch(peer, id: "quiet-1")
        rig.clock.now = deadline - 1_000_000
        var reapedAt: UInt64?
        while reapedAt == nil, rig.clock.now < deadline + 2 * Rig.tick {
            try rig.turn()
            if !rig.reapLines(of: peer).isEmpty { reapedAt = rig.clock.now } else { rig.clock.advance(milliseconds: 1) }
        }
        let reaped = try #require(reapedAt)
        #expect(reaped >= deadline, "never early")
        #expect(reaped - deadline < Rig.tick, "at most one tick late")
        #expect(reaped == origin + 2_100_000_000, "the first boundary at or after the deadline")
        rig.expectTornDown(watch, reason: .timeout, farewell: "BYE timeout")
        #expect(rig.reapLines(of: peer).first?.metadata["late_ms"] == "70")
    }

    /// A turn whose epoll batch is full has not heard every ready socket: a session whose deadline passes
    /// in it, with its heartbeat already waiting unread, is read, not reaped (the soak's starved worker).
    @Test func aHeartbeatWaitingUnreadWhenTheBatchIsFullIsNotReapedAsSilence() throws {
        // Two events a wait: the rig's mailbox ping takes one, so at most one session is heard per turn.
        let rig = try Rig(eventsPerWait: 2)
        let ids = (1...4).map { "starved-\($0)" }
        let peers = try ids.map { id in try identified(rig, id) }
        rig.clock.advance(milliseconds: 1_900)
        for peer in peers { peer.send("PING\n") }
        rig.clock.advance(milliseconds: 200) // past every deadline (2 s), with each PING still unread
        try rig.turn()
        for (peer, id) in zip(peers, ids) {
            #expect(rig.reapLines(of: peer).isEmpty, "\(id) was reaped with a heartbeat in its socket")
        }
        #expect(
            try rig.turns {
                peers.allSatisfy {
                    $0.pump()
                    return $0.lines.last == "PONG"
                }
            })
    }

    @Test func heartbeatsMoveTheDeadlineAndTheWheelLearnsLazily() throws {
        let rig = try Rig()
        let origin = rig.clock.now
        let peer = try identified(rig, "beat-1")
        rig.clock.now = origin + 1_530_000_000
        peer.send("PING 1\n")
        #expect(
            try rig.turns {
                peer.pump()
                return peer.lines.last == "PONG 1"
            })
        let watch = rig.watch(peer, id: "beat-1")
        // The timer armed at HELLO fires at 2.1 s, finds the session heard from, and re-arms for 3.53 s.
        for instant in stride(from: origin + 2_000_000_000, to: origin + 3_600_000_000, by: 10_000_000) {
            rig.clock.now = instant
            try rig.turn()
            #expect(rig.reapLines(of: peer).isEmpty, "reaped at \((instant - origin) / 1_000_000) ms")
        }
        rig.clock.now = origin + 3_600_000_000
        try rig.turn()
        rig.expectTornDown(watch, reason: .timeout, farewell: "BYE timeout")
        #expect(rig.reapLines(of: peer).first?.metadata["late_ms"] == "70")
    }

    @Test func helloTimeout() throws {
        let rig = try Rig()
        let origin = rig.clock.now
        let peer = try rig.connect()
        let watch = rig.watch(peer)
        rig.clock.now = origin + 4_999_000_000
        try rig.turn()
        #expect(rig.reapLines(of: peer).isEmpty, "reaped before hello_timeout")
        rig.clock.now = origin + 5_000_000_000
        try rig.turn()
        rig.expectTornDown(watch, reason: .helloTimeout, farewell: "ERR hello-timeout")
    }

    @Test(arguments: [
        ("PING\n", "ERR bad-hello the first line must be HELLO <id>"),
        ("HELLO bad id\n", "ERR bad-hello unexpected word 'id'"),
        (String(repeating: "x", count: 300), "ERR line-too-long limit 256 bytes"),
    ])
    func protocolErrorBeforeHello(input: String, farewell: String) throws {
        let rig = try Rig()
        let peer = try rig.connect()
        let watch = rig.watch(peer)
        peer.send(input)
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .protocol, farewell: farewell)
    }

    @Test func protocolErrorAfterHelloStillGetsTheRepliesBeforeIt() throws {
        let rig = try Rig()
        let peer = try identified(rig, "bad-1")
        let watch = rig.watch(peer, id: "bad-1")
        peer.send("PING a\nHELLO again\nPING b\n")
        #expect(try rig.turnsUntilReaped(watch))
        #expect(peer.lines.suffix(2) == ["PONG a", "ERR bad-hello already identified"])
        rig.expectTornDown(watch, reason: .protocol, farewell: "ERR bad-hello already identified")
    }

    @Test func bye() throws {
        let rig = try Rig()
        let peer = try identified(rig, "bye-1")
        let watch = rig.watch(peer, id: "bye-1")
        peer.send("BYE\n")
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .bye, farewell: "BYE bye")
    }

    @Test func kicked() throws {
        let rig = try Rig()
        let peer = try identified(rig, "kick-1")
        let owner = try #require(rig.shared.registry.owner(of: "kick-1"))
        let watch = rig.watch(peer, id: "kick-1")
        let answer = Answers()
        let kick = ControlQuery.kick(slot: owner.slot, serial: owner.serial, note: "maintenance", reply: answer.add)
        rig.worker.mailbox.post(.control(kick))
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .kicked, farewell: "BYE kicked")
        #expect(answer.all.map { $0?.id } == ["kick-1"])
        #expect(rig.reapLines(of: peer).first?.metadata["note"] == "maintenance")
        #expect(rig.presence.all.last?.note == "maintenance")
        // The same kick again names a session that is gone: nothing happens, the answer is nil.
        rig.worker.mailbox.post(.control(.kick(slot: owner.slot, serial: owner.serial, note: nil, reply: answer.add)))
        #expect(try rig.turns { answer.all.count == 2 })
        #expect(answer.all.last! == nil)
    }

    /// The farewell waits for the FIN (MSG_MORE) and both reach the client in one segment: one packet less
    /// for every reap on a slow link, and for every clean BYE.
    @Test func theFarewellAndTheFINArriveInOneSegment() throws {
        let rig = try Rig()
        let peer = try rig.connect(over: .tcp)
        #expect(try rig.identify(peer, as: "one-1") == "OK one-1 interval=1000 timeout=2000")
        let owner = try #require(rig.shared.registry.owner(of: "one-1"))
        let before = try peer.segmentsReceived()
        let watch = rig.watch(peer, id: "one-1")
        rig.worker.mailbox.post(.control(.kick(slot: owner.slot, serial: owner.serial, note: nil, reply: { _ in })))
        #expect(try rig.turnsUntilReaped(watch))
        #expect(
            try rig.turns {
                peer.pump()
                return peer.isClosed
            })
        #expect(peer.lines.last == "BYE kicked" && peer.error == nil)
        #expect(try peer.segmentsReceived() - before == 1, "BYE kicked and the FIN in one segment")
    }

    @Test func reapingCountsEveryReasonInTheStats() throws {
        let rig = try Rig()
        let peer = try identified(rig, "count-1")
        let watch = rig.watch(peer, id: "count-1")
        peer.send("BYE\n")
        #expect(try rig.turnsUntilReaped(watch))
        var snapshot = Snapshot()
        rig.worker.stats.add(to: &snapshot)
        #expect(snapshot.reaps[.bye] == 1 && snapshot.connected == 0 && snapshot.identified == 0)
        #expect(snapshot.sessionsTotal == 1)
    }
}

/// What a kick's reply closure was given, in order.
private final class Answers: Sendable {
    private let replies = Mutex<[ClientInfo?]>([])
    var all: [ClientInfo?] { replies.withLock { $0 } }
    @Sendable func add(_ info: ClientInfo?) { replies.withLock { $0.append(info) } }
}
