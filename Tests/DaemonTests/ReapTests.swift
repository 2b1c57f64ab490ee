import Foundation
// Reaping against the real daemon (DESIGN §4): silent clients at their deadline with their lateness
// reported, FIN and RST leaving nothing in CLOSE_WAIT, ghosts that vanish without a packet. How late a
// reap may be is a claim about the wheel and the loop, checked against an injected clock in-process.
import TestSupport
import Testing

@Suite struct ReapTests {
    @Test func silentClientIsReapedAtItsDeadlineWithItsLateness() async throws {
        let daemon = try await Daemon(
            config: """
                [heartbeat]
                interval_min = "1s"
                tick = "100ms"
                """)
        let silent = try await identifiedClient("silent-1", port: daemon.port, interval: 1000)
        // timeout = 1000 ms × timeout_factor 3.
        #expect(await silent.readLine(within: 8) == "BYE timeout")
        #expect(await silent.isClosedByServer())
        let line = try #require(await daemon.sessionLine("offline", of: silent))
        #expect(field("reason", in: line) == "timeout")
        #expect(field("client.id", in: line) == "silent-1")
        // The daemon reports how late the reap was against its own clock: a count of milliseconds, never
        // negative (a reap before the deadline would be a bug). Its bound is checked without wall time.
        let late = try #require(field("late_ms", in: line).flatMap { Int($0) }, "no late_ms in \(line)")
        #expect(late >= 0, "\(line)")
        let duration = try #require(field("session.duration_ms", in: line).flatMap { Int($0) })
        #expect(duration >= 3000, "\(line)")
    }

    @Test func clientThatKeepsBeatingIsNotReaped() async throws {
        let daemon = try await Daemon(config: "[heartbeat]\ninterval_min = \"1s\"\ntimeout_factor = 2\n")
        let beating = try Client(port: daemon.port)
        // Three timeouts' worth (2 s each) of heartbeats: the wheel fires and re-arms lazily each time.
        let replies = await beating.exchangeFromThread(
            first: "HELLO beating interval=1000\n", thenPingFor: 6, every: 0.3)
        #expect(replies.first??.hasPrefix("OK beating ") == true, "\(replies)")
        #expect(replies.count >= 4, "fewer beats than timeouts: \(replies)")
        for (beat, reply) in replies.dropFirst().enumerated() { #expect(reply == "PONG \(beat)") }
        #expect(daemon.lines(containing: "client.id=beating", "event=offline").isEmpty)
        // Once it stops, the re-armed timer still reaps it.
        #expect(await beating.readLine(within: 6) == "BYE timeout")
        let line = try #require(await daemon.sessionLine("offline", of: beating))
        #expect(field("reason", in: line) == "timeout")
    }

    @Test func finAndResetLeaveNothingInCloseWait() async throws {
        raiseDescriptorLimit()
        let daemon = try await Daemon()
        var closing: [Client] = []
        var resetting: [Client] = []
        for number in 0..<300 {
            closing.append(try await identifiedClient("fin-\(number)", port: daemon.port))
            resetting.append(try await identifiedClient("rst-\(number)", port: daemon.port))
        }
        #expect(socketStates(port: daemon.port)["ESTAB", default: 0] == 600)
        for client in closing { client.closeSocket() }
        for client in resetting { client.reset() }
        var states: [String: Int] = [:]
        let settled = await eventually(within: 15) {
            states = socketStates(port: daemon.port)
            return states["CLOSE-WAIT", default: 0] == 0 && states["ESTAB", default: 0] == 0 && states["LISTEN"] == 1
        }
        #expect(settled, "socket states on the daemon's port: \(states)")
        // Every session was reaped with its reason (lines the storm limit held back are counted too).
        let counted = await eventually(within: 5) {
            daemon.sessionCount("offline", reason: "eof") >= 300
                && daemon.sessionCount("offline", reason: "reset") >= 300
        }
        #expect(counted)
        #expect(daemon.sessionCount("offline", reason: "eof") == 300)
        #expect(daemon.sessionCount("offline", reason: "reset") == 300)
    }

    @Test func ghostsThatVanishAreReapedAtTheirDeadline() async throws {
        // A 3 s interval (9 s timeout) leaves a loaded machine time to set the ghosts up and look.
        let daemon = try await Daemon(config: "[heartbeat]\ninterval_min = \"1s\"\n")
        var ghosts: [Client] = []
        for number in 0..<20 {
            ghosts.append(try await identifiedClient("ghost-\(number)", port: daemon.port, interval: 3000))
        }
        for ghost in ghosts {
            guard ghost.vanish() else {
                Issue.record("setsockopt(TCP_REPAIR) failed (errno \(errno)); ghost clients need CAP_NET_ADMIN")
                return
            }
        }
        // Nothing went on the wire: the daemon still holds 20 established connections.
        #expect(socketStates(port: daemon.port)["ESTAB", default: 0] == 20)
        #expect(daemon.sessionCount("offline") == 0)
        let reaped = await eventually(within: 20) { daemon.sessionCount("offline", reason: "timeout") == 20 }
        #expect(reaped)
        for ghost in ghosts {
            let line = try #require(await daemon.sessionLine("offline", of: ghost))
            let duration = try #require(field("session.duration_ms", in: line).flatMap { Int($0) })
            #expect(duration >= 9000, "reaped before its deadline: \(line)")
        }
        var states: [String: Int] = [:]
        let settled = await eventually(within: 10) {
            states = socketStates(port: daemon.port)
            return states["ESTAB", default: 0] == 0
        }
        #expect(settled, "socket states on the daemon's port: \(states)")
    }
}
