// StatusReport and ReloadReport: the members they write, in order, and reading them back.
import ControlProtocol
import Testing

@Suite struct StatusReportTests {
    let report = StatusReport(
        version: "0.1.0", pid: 812, startedAtMS: 1_700_000_000_000, uptimeMS: 93_000, workers: 2, clients: 3,
        connected: 4,
        sessionsTotal: 10, heartbeatsTotal: 1234, reaps: [("eof", 3), ("timeout", 0)], acceptErrors: [("EMFILE", 2)],
        configFile: "/etc/heartbeatd/heartbeatd.toml", offlineGraceMS: 2_000, offlineHeld: 1, watchers: 1)

    @Test func members() {
        #expect(
            report.json.members.map(\.key) == [
                "ok", "version", "pid", "started_at", "started_at_ms", "uptime_ms", "workers", "clients", "connected",
                "sessions_total", "heartbeats_total", "reaps", "accept_errors", "config_file", "offline_grace_ms",
                "offline_held", "watchers",
            ])
        #expect(report.json.object("reaps")?.line == #"{"eof":3,"timeout":0}"# + "\n")
    }

    @Test func readsBack() throws {
        #expect(try decode(StatusReport.self, report.json.line) == report)
        var defaults = report
        defaults.configFile = nil
        #expect(defaults.json.line.contains(#""config_file":null"#))
        #expect(try decode(StatusReport.self, defaults.json.line) == defaults)
    }

    /// A JSON object has no order a decoder keeps: counts by name come back largest first, then by name.
    @Test func countsByNameReadBackLargestFirst() throws {
        var shuffled = report
        shuffled.reaps = [("bye", 4), ("eof", 3), ("timeout", 9), ("hello-timeout", 3), ("reset", 0)]
        shuffled.acceptErrors = [("EMFILE", 2), ("ENFILE", 5)]
        let read = try decode(StatusReport.self, shuffled.json.line)
        #expect(read.reaps.map(\.reason) == ["timeout", "bye", "eof", "hello-timeout", "reset"])
        #expect(read.reaps.map(\.count) == [9, 4, 3, 3, 0])
        #expect(read.acceptErrors.map(\.errno) == ["ENFILE", "EMFILE"])
    }

    @Test func reloadReport() throws {
        let reload = ReloadReport(restartRequired: ["listen", "workers"], message: "configuration reloaded")
        #expect(
            reload.json.line
                == #"{"ok":true,"outcome":"applied","restart_required":["listen","workers"],"message":"configuration reloaded"}"#
                + "\n")
        #expect(try decode(ReloadReport.self, reload.json.line) == reload)
        #expect(throws: ControlError.badAnswer(#"the answer's "restart_required.1" is not a string"#)) {
            try decode(ReloadReport.self, #"{"ok":true,"restart_required":["listen",1],"message":"m"}"#)
        }
    }
}
