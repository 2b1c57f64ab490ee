// heartbeat-bench storm against the real daemon, small: every storm client comes back online, with
// instant reconnects and with the client library's full-jitter backoff, and the steady clients stay.
import TestSupport
import Testing

@Suite struct HeartbeatBenchStormTests {
    @Test(arguments: [["--reconnect", "instant"], ["--reconnect", "jitter", "--backoff-base", "300ms"]])
    func everyStormClientComesBackOnline(reconnect: [String]) async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let summary = try await HeartbeatBenchTests.bench(
            ["storm", "-n", "200", "--steady", "10", "-i", "100ms", "--quiet", "500ms", "--timeout", "30s"] + reconnect,
            daemon: daemon, within: 60)
        #expect(summary["mode"] as? String == "storm")
        #expect(summary["reconnect"] as? String == reconnect[1])
        #expect(summary["connected"] as? Int == 200)
        #expect(summary["online"] as? Int == 200)
        #expect(summary["all_online"] as? Int == 1)
        #expect(((summary["all_online_s"] as? Double) ?? 0) > 0)
        #expect(summary["steady_dropped"] as? Int == 0)
        let quiet = try #require(summary["steady_rtt_quiet_us"] as? [String: Any])
        #expect(((quiet["count"] as? Int) ?? 0) > 0)
        #expect(summary["listen_overflows"] is Int)
        #expect(summary["syncookies_sent"] is Int)
    }
}
