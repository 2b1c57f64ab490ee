// A worker's part of a restart, on a manual clock: restored sessions keep their serial, connected-since
// and deadline and say nothing to the client; a deadline that passed in the gap is reaped `timeout`
// with the gap in late_ms; a hand-off freezes plain sessions and paces `BYE restart` for the others.
import ControlProtocol
import Glibc
import Handoff
import Primitives
import Synchronization
import Testing

@testable import Posix
@testable import ServerCore

@Suite struct WorkerHandoffTests {
    private func record(
        _ id: String, peer: SocketAddress, server: DescriptorID, lastHeard: UInt64, connectedAt: UInt64
    ) throws -> HandoffState.Session {
        HandoffState.Session(
            descriptor: server.rawValue, worker: 0, id: id, serial: 77, intervalMilliseconds: 1_000,
            timeoutFactor: 2, lastHeard: lastHeard, connectedAt: connectedAt,
            peer: HandoffAddress(family: 4, bytes: peer.rawBytes, port: peer.port),
            local: HandoffAddress(family: 4, bytes: [127, 0, 0, 1], port: 0))
    }

    @Test func aRestoredSessionKeepsItsDeadlineAndSaysNothing() throws {
        let rig = try Rig()
        let listening = try Listening()
        let (client, server, address) = try listening.connection()
        let heard = rig.clock.now - 500_000_000
        let kept = try record(
            "kept-1", peer: address, server: server, lastHeard: heard, connectedAt: heard - 60_000_000_000)
        rig.worker.restore(try Socket(adoptingConnected: server.rawValue), kept)
        try rig.turn()
        client.pump()
        #expect(client.lines.isEmpty && !client.isClosed, "no BYE, no OK")
        #expect(rig.presence.all.isEmpty, "no online event")
        let owner = try #require(rig.shared.registry.owner(of: "kept-1"))
        #expect(owner.serial == 77)
        #expect(rig.worker.sessions[Int(owner.slot)].connectedAt == heard - 60_000_000_000)
        client.send("PING a\n")
        #expect(
            try rig.turns {
                client.pump()
                return client.lines == ["PONG a"]
            })
        // Heard again just now: the deadline moved with it, and is kept to the tick.
        let deadline = rig.worker.sessions[Int(owner.slot)].deadline
        rig.clock.now = deadline - 1_000_000
        try rig.turn()
        #expect(rig.reapLines(of: client).isEmpty, "never early")
        rig.clock.now = deadline + Rig.tick
        #expect(try rig.turns { !rig.reapLines(of: client).isEmpty })
        #expect(rig.reapLines(of: client).first?.metadata["reason"] == "timeout")
    }

    @Test func aDeadlinePassedDuringTheGapIsReapedWithTheGapInLateMS() throws {
        let rig = try Rig()
        let listening = try Listening()
        let (client, server, address) = try listening.connection()
        // Deadline = heard + 2 s; the successor starts 3 s after it.
        let heard = rig.clock.now - 5_000_000_000
        rig.worker.restore(
            try Socket(adoptingConnected: server.rawValue),
            try record("gone-1", peer: address, server: server, lastHeard: heard, connectedAt: heard))
        #expect(
            try rig.turns {
                rig.clock.advance(milliseconds: 10)
                return !rig.reapLines(of: client).isEmpty
            })
        let line = try #require(rig.reapLines(of: client).first)
        #expect(line.metadata["reason"] == "timeout")
        let late = try #require(line.metadata["late_ms"].flatMap { Int("\($0)") })
        #expect(late >= 3_000 && late < 3_000 + 2 * Int(Rig.tick / 1_000_000) + 100)
        client.pump()
        #expect(client.lines == ["BYE timeout"])
    }

    @Test func queuedBytesAreReadBeforeAPassedDeadlineBeyondOneTurnsEvents() throws {
        // More restored sessions than one epoll_wait returns (512), every deadline passed in the gap: what
        // each client sent meanwhile — a PING, or the FIN of one that left — is read before its deadline
        // is looked at, so nobody is reaped `timeout` for the successor's slowness.
        let rig = try Rig()
        let listening = try Listening()
        let heard = rig.clock.now - 5_000_000_000
        var clients: [Peer] = []
        var kept: [(DescriptorID, HandoffState.Session)] = []
        for number in 0..<600 {
            let (client, server, address) = try listening.connection()
            if number.isMultiple(of: 2) { client.send("PING \(number)\n") } else { client.finish() }
            clients.append(client)
            kept.append(
                (
                    server,
                    try record("gap-\(number)", peer: address, server: server, lastHeard: heard, connectedAt: heard)
                ))
        }
        for (server, record) in kept { rig.worker.restore(try Socket(adoptingConnected: server.rawValue), record) }
        // Restoring thousands takes a while: the first turn finds the wheel's next tick already due.
        rig.clock.now += 2 * Rig.tick
        #expect(
            try rig.turns {
                rig.presence.all.filter { $0.kind == .offline }.count >= 300
            })
        let reasons = rig.presence.all.filter { $0.kind == .offline }.map { $0.reason ?? "" }
        #expect(reasons.count == 300 && reasons.allSatisfy { $0 == "eof" }, "\(Set(reasons))")
        for (number, client) in clients.enumerated() where number.isMultiple(of: 2) {
            client.pump()
            #expect(client.lines == ["PONG \(number)"] && !client.isClosed, "client \(number): \(client.lines)")
        }
    }

    @Test func overTheLimitARestoredSessionIsEndedWithAReason() throws {
        let rig = try Rig(settings: testSettings(maxClients: 0))
        let listening = try Listening()
        let (client, server, address) = try listening.connection()
        let heard = rig.clock.now
        rig.worker.restore(
            try Socket(adoptingConnected: server.rawValue),
            try record("many-1", peer: address, server: server, lastHeard: heard, connectedAt: heard))
        #expect(rig.reapLines(of: client).first?.metadata["reason"] == "overload")
        #expect(
            try rig.turns {
                client.pump()
                return client.isClosed
            })
        #expect(client.lines == ["ERR server-full"])
        #expect(rig.shared.registry.owner(of: "many-1") == nil)
    }

    @Test func aHandOffFreezesPlainSessionsAndPacesTheOthers() throws {
        let rig = try Rig()
        let plain = try rig.connect(over: .tcp)
        #expect(try rig.identify(plain, as: "plain-1") != nil)
        var paced: [Peer] = []
        for number in 1...2 {
            let peer = try rig.connect()
            #expect(try rig.identify(peer, as: "tls-\(number)") != nil)
            rig.worker.handoff.cannotHandOver.insert(peer.slot)
            paced.append(peer)
        }
        let result = Mutex<WorkerHandoff?>(nil)
        let start = rig.clock.now
        rig.worker.beginHandOff(pacing: Pacing(window: 1_000_000_000, jitter: 0.5)) { part in
            result.withLock { $0 = part }
        }
        var endedAt: [UInt64] = []
        while rig.clock.now < start + 1_200_000_000 {
            try rig.turn()
            for peer in paced where !peer.isClosed {
                peer.pump()
                if peer.lines.last == "BYE restart" { endedAt.append(rig.clock.now) }
            }
            rig.clock.advance(milliseconds: 10)
        }
        #expect(endedAt.count == 2)
        #expect(endedAt.first != endedAt.last, "one by one, not at once")
        #expect(endedAt.allSatisfy { $0 <= start + 1_000_000_000 + Rig.tick })
        let part = try #require(result.withLock { $0 })
        #expect(part.sessions.map(\.id) == ["plain-1"])
        let retired = try #require(part.retired, "the epoll holding the frozen session is set aside")
        Descriptors.close(retired)
        plain.pump()
        #expect(plain.lines.count == 1 && !plain.isClosed, "the plain session heard nothing")
        // The exec failed: it is served again.
        rig.worker.resumeAfterHandOff()
        plain.send("PING b\n")
        #expect(
            try rig.turns {
                plain.pump()
                return plain.lines.last == "PONG b"
            })
    }

    /// `count` loopback connections handed to the worker as a takeover would, session `number` heard
    /// `number` ms longer ago than the one before it, each with a PING waiting.
    private func inherit(_ count: Int, rig: Rig, listening: Listening) throws -> [Peer] {
        var clients: [Peer] = []
        for number in 0..<count {
            let (client, server, address) = try listening.connection()
            let heard = rig.clock.now - 100_000_000 - UInt64(number) * 1_000_000
            client.send("PING \(number)\n")
            clients.append(client)
            rig.worker.handoff.inherited.append(
                (
                    server,
                    try record("round-\(number)", peer: address, server: server, lastHeard: heard, connectedAt: heard)
                ))
        }
        return clients
    }

    @Test func aLargeTakeoverIsRestoredInRoundsLongestUnheardFirst() throws {
        let rig = try Rig()
        let listening = try Listening()
        let clients = try inherit(Worker.restoresPerTurn + 88, rig: rig, listening: listening)
        rig.worker.restoreInherited()
        // One round before the first turn: the longest unheard, whose beats came first.
        let left = rig.worker.handoff.inherited.map { $0.record.id }
        #expect(Set(left) == Set((0..<88).map { "round-\($0)" }))
        #expect(ClientID("round-\(Worker.restoresPerTurn + 87)").flatMap(rig.shared.registry.owner(of:)) != nil)
        #expect(rig.shared.registry.owner(of: "round-0") == nil)
        // Turns of the loop alone (any message but the watchdog's probe finishes the restore at once).
        for _ in 0..<50 where !rig.worker.handoff.inherited.isEmpty { try rig.worker.loop.runTurn() }
        #expect(rig.worker.handoff.inherited.isEmpty)
        #expect(
            try rig.turns {
                clients.allSatisfy { client in
                    client.pump()
                    return client.lines.count == 1
                }
            })
        for (number, client) in clients.enumerated() {
            #expect(client.lines == ["PONG \(number)"] && !client.isClosed, "client \(number): \(client.lines)")
        }
        #expect(rig.presence.all.isEmpty, "no online events")
    }

    @Test func aHandOffDuringTheRestoreFreezesEverySession() throws {
        let rig = try Rig()
        let listening = try Listening()
        let count = Worker.restoresPerTurn + 40
        _ = try inherit(count, rig: rig, listening: listening)
        rig.worker.restoreInherited()
        #expect(rig.worker.handoff.inherited.count == 40)
        let result = Mutex<WorkerHandoff?>(nil)
        rig.worker.take(
            .handOff(Pacing(window: 0, jitter: 0), acrossExec: true, reply: { part in result.withLock { $0 = part } }))
        let part = try #require(result.withLock { $0 })
        #expect(part.sessions.count == count, "the ones not restored yet are handed on too")
        if let retired = part.retired { Descriptors.close(retired) }
        #expect(rig.worker.handoff.inherited.isEmpty)
    }

    @Test func theWatchdogProbeLeavesTheRestoreToItsRounds() throws {
        let rig = try Rig()
        let listening = try Listening()
        _ = try inherit(Worker.restoresPerTurn + 40, rig: rig, listening: listening)
        rig.worker.restoreInherited()
        rig.worker.take(.ping)
        #expect(rig.worker.handoff.inherited.count == 40, "the probe registered no session")
        for _ in 0..<50 where !rig.worker.handoff.inherited.isEmpty { try rig.worker.loop.runTurn() }
        #expect(rig.worker.handoff.inherited.isEmpty)
    }

    @Test func onlyAnUpgradesFreezeKeepsTheSocketsOpenAcrossExec() throws {
        for acrossExec in [true, false] {
            let rig = try Rig()
            let peer = try rig.connect(over: .tcp)
            #expect(try rig.identify(peer, as: "exec-\(acrossExec)") != nil)
            let result = Mutex<WorkerHandoff?>(nil)
            rig.worker.beginHandOff(pacing: Pacing(window: 0, jitter: 0), acrossExec: acrossExec) { part in
                result.withLock { $0 = part }
            }
            let part = try #require(result.withLock { $0 })
            let descriptor = try #require(part.sessions.first?.descriptor)
            // A stop puts the sockets in flight (the receiver sets close-on-exec): no fcntl per session.
            #expect((fcntl(descriptor, F_GETFD) & FD_CLOEXEC == 0) == acrossExec, "across exec: \(acrossExec)")
            if let retired = part.retired { Descriptors.close(retired) }
        }
    }
}
