// heartbeat-bench smoke runs against the real daemon, small and short: each mode connects, does its
// work, stops by itself and prints a JSON summary whose fields add up.
import Foundation
import TestSupport
import Testing

@Suite struct HeartbeatBenchTests {
    /// Runs heartbeat-bench with `arguments` plus --server and --json; its summary as a dictionary.
    static func bench(_ arguments: [String], daemon: Daemon, within seconds: Double = 30) async throws -> [String: Any]
    {
        let child = try Child(
            executable: builtProduct("heartbeat-bench"),
            arguments: arguments + ["--server", "127.0.0.1:\(daemon.port)", "--json"])
        let status = await child.exitStatus(within: seconds)
        #expect(status == 0, "heartbeat-bench \(arguments): \(child.standardError)")
        _ = await eventually(within: 2) { child.standardOutput.hasSuffix("\n") }
        let object = try JSONSerialization.jsonObject(with: Data(child.standardOutput.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(child.standardOutput)")
    }

    @Test func holdConnectsEveryClientAndGetsEveryPong() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let summary = try await Self.bench(
            ["hold", "-n", "200", "-i", "1s", "-d", "2s", "--pid", "\(daemon.pid)"], daemon: daemon)
        #expect(summary["mode"] as? String == "hold")
        #expect(summary["clients"] as? Int == 200)
        #expect(summary["connected"] as? Int == 200)
        #expect(summary["failures"] as? Int == 0)
        let heartbeats = try #require(summary["heartbeats"] as? Int)
        // Each client beats once a second through a 2 s window, after a random first delay.
        #expect(heartbeats >= 200)
        #expect(summary["pongs"] as? Int == heartbeats)
        #expect(summary["lost_beats"] as? Int == 0)
        let rtt = try #require(summary["rtt_us"] as? [String: Any])
        #expect(rtt["count"] as? Int == heartbeats)
        #expect(((rtt["p50"] as? Int) ?? 0) > 0)
        #expect(((rtt["p50"] as? Int) ?? 0) <= ((rtt["max"] as? Int) ?? 0))
        #expect(summary["rss_per_client_bytes"] is Double)
        #expect(summary["cpu_ms_per_1000_heartbeats"] is Double)
    }

    @Test func floodKeepsItsPingsAnswered() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let summary = try await Self.bench(["flood", "-c", "5", "-D", "4", "-d", "1s"], daemon: daemon)
        #expect(summary["connected"] as? Int == 5)
        #expect(summary["failures"] as? Int == 0)
        #expect(((summary["heartbeats_per_second"] as? Double) ?? 0) > 0)
        #expect(summary["pongs"] as? Int == summary["heartbeats"] as? Int)
    }

    @Test func unstampedFloodCountsEveryPlainPongAndTimesEachRead() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let summary = try await Self.bench(["flood", "-c", "5", "-D", "4", "-d", "1s", "--unstamped"], daemon: daemon)
        #expect(summary["pings"] as? String == "unstamped")
        #expect(summary["failures"] as? Int == 0)
        let heartbeats = try #require(summary["heartbeats"] as? Int)
        #expect(heartbeats > 0)
        // The window ends with a drain: every PING sent got its PONG, counted without decoding a line.
        #expect(summary["pongs"] as? Int == heartbeats)
        // One RTT per read of PONGs, so at least one and at most one per PONG.
        let rtt = try #require(summary["rtt_us"] as? [String: Any])
        let timed = try #require(rtt["count"] as? Int)
        #expect(timed > 0 && timed <= heartbeats)
    }

    @Test func churnLeavesNoHalfClosedOrLeftoverSockets() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        // Vanished sessions are reaped 3 s after their HELLO; --settle leaves room for a busy machine.
        let summary = try await Self.bench(
            ["churn", "-k", "300", "-c", "20", "-m", "clean:abort:vanish", "--settle", "5s"], daemon: daemon)
        #expect(summary["cycles"] as? Int == 300)
        #expect(summary["failures"] as? Int == 0)
        let ways = try #require(summary["cycles_by_way"] as? [String: Int])
        #expect(ways == ["clean": 100, "abort": 100, "vanish": 100])
        // The daemon's side: no CLOSE-WAIT (it acts on a FIN at once), no ESTAB (vanished clients were reaped).
        let server = try #require(summary["server_sockets"] as? [String: Int])
        #expect(server["CLOSE-WAIT"] == nil)
        #expect(server["ESTAB"] == nil)
        let client = try #require(summary["client_sockets"] as? [String: Int])
        #expect(client["ESTAB"] == nil)
    }

    @Test func reapSeesEverySilentClientReapedNeverEarly() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let summary = try await Self.bench(["reap", "-n", "50", "-i", "1s", "--spread", "1s"], daemon: daemon)
        #expect(summary["connected"] as? Int == 50)
        #expect(summary["timeout_ms"] as? Int == 3000)
        #expect(summary["reaped"] as? Int == 50)
        #expect(summary["early"] as? Int == 0)
        #expect(summary["not_reaped"] as? Int == 0)
        let lateness = try #require(summary["lateness_ms"] as? [String: Any])
        #expect(lateness["p50"] is Double || lateness["p50"] is Int)
    }
}
