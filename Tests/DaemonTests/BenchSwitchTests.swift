// heartbeat-bench hold's switch report against the real daemon: across `heartbeatctl upgrade` it shows
// no disconnect and no unanswered beat; when the daemon goes away it counts every drop, with its reason,
// and --reconnect reports who never came back.
import Foundation
import Glibc
import TestSupport
import Testing

@Suite struct BenchSwitchTests {
    /// `heartbeat-bench hold` in the background against `daemon`, with --json.
    private func hold(_ arguments: [String], daemon: Daemon) throws -> CtlProcess {
        try CtlProcess(
            ["hold", "--server", "127.0.0.1:\(daemon.port)", "--json"] + arguments,
            binary: builtProduct("heartbeat-bench"))
    }

    private func summary(_ bench: CtlProcess, within seconds: Double = 60) async throws -> [String: Any] {
        let run = try await bench.finish(within: seconds)
        #expect(run.status == 0, "\(run.error)")
        return try jsonObject(run.output)
    }

    private func connected(_ count: Int, _ place: ControlPlace) async -> Bool {
        await eventually(within: 20) {
            guard let status = try? await heartbeatctl("--socket", place.socket, "--json", "status") else {
                return false
            }
            return (try? jsonObject(status.output)["clients"] as? Int) == count
        }
    }

    @Test func upgradeUnderHoldReportsNoDisconnectAndNoUnansweredBeat() async throws {
        let place = ControlPlace()
        // A copy the upgrade may exec, made by install(1) in a child (see heartbeatctlForAnyone for why).
        let copy = temporaryDirectory().appendingPathComponent("heartbeatd").path
        #expect(
            try await CtlProcess(["-m", "0755", heartbeatdBinary(), copy], binary: "/usr/bin/install").finish().status
                == 0)
        let daemon = try await Daemon(config: place.config(), binary: copy)
        let bench = try hold(["-n", "50", "-i", "200ms", "-d", "10s", "--id-prefix", "up"], daemon: daemon)
        #expect(await connected(50, place), "\(bench.error)")
        let upgrade = try await heartbeatctl("--socket", place.socket, "upgrade")
        #expect(upgrade.status == 0, "\(upgrade.error)")
        #expect(upgrade.output.contains("(same process)"), "\(upgrade.output)")

        let report = try await summary(bench)
        #expect(report["connected"] as? Int == 50)
        #expect(report["dropped"] as? Int == 0)
        #expect(report["lost_beats"] as? Int == 0)
        let switched = try #require(report["switch"] as? [String: Any])
        #expect(switched["disconnects"] as? Int == 0)
        #expect(switched["unanswered"] as? Int == 0)
        #expect(switched["max_rtt_ms"] is Double)
        #expect(((switched["max_rtt_sent_unix_ms"] as? Int) ?? 0) > 0)
    }

    @Test func aDaemonThatGoesAwayIsReportedDropByDrop() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        // The windows are long enough for a loaded machine to get the switch in before they end.
        // Beats every 100 ms, and SIGTERM (no systemd, so no hand-off): the drain says BYE shutdown to each,
        // and nobody comes back.
        let bench = try hold(
            [
                "-n", "20", "-i", "100ms", "-d", "15s", "--id-prefix", "gone", "--reconnect", "--reconnect-spread",
                "50ms",
            ],
            daemon: daemon)
        #expect(await connected(20, place), "\(bench.error)")
        daemon.signal(SIGTERM)

        let report = try await summary(bench)
        let switched = try #require(report["switch"] as? [String: Any])
        #expect(switched["disconnects"] as? Int == 20)
        let reasons = try #require(switched["disconnect_reasons"] as? [String: Int])
        #expect(reasons.values.reduce(0, +) == 20, "\(reasons)")
        #expect(reasons["bye-shutdown"] == 20, "\(reasons)")
        #expect(switched["reconnected"] as? Int == 0)
        #expect(switched["still_away"] as? Int == 20)
        #expect(((switched["reconnect_attempts"] as? Int) ?? 0) >= 20, "each dropped client tried again")
    }
}
