// heartbeatctl's text for people: rows for Output.table, and one line per presence event.
import ControlProtocol

enum HumanText {
    static func status(_ report: StatusReport) -> [[String]] {
        let pending = report.connected - report.clients
        let reaps = report.reaps.filter { $0.count > 0 }.map { "\($0.reason) \($0.count)" }
        var rows = [
            ["heartbeatd", "\(report.version), pid \(report.pid)"],
            [
                "up",
                "\(TimeText.duration(milliseconds: report.uptimeMS)) (since \(TimeText.timestamp(milliseconds: report.startedAtMS)))",
            ],
            ["workers", "\(report.workers)"],
            ["clients", pending > 0 ? "\(report.clients) (+\(pending) before HELLO)" : "\(report.clients)"],
            ["sessions", "\(report.sessionsTotal) since start"],
            ["heartbeats", "\(report.heartbeatsTotal)"],
            ["reaps", reaps.isEmpty ? "none" : reaps.joined(separator: ", ")],
        ]
        if !report.acceptErrors.isEmpty {
            rows.append([
                "accept errors", report.acceptErrors.map { "\($0.errno) \($0.count)" }.joined(separator: ", "),
            ])
        }
        let held = report.offlineHeld > 0 ? " (\(report.offlineHeld) offline held back)" : ""
        rows.append([
            "offline grace",
            report.offlineGraceMS == 0 ? "off" : TimeText.duration(milliseconds: report.offlineGraceMS) + held,
        ])
        rows.append(["watchers", "\(report.watchers)"])
        rows.append(["config", report.configFile ?? "built-in defaults"])
        return rows
    }

    /// A header, then one row per client in the order given.
    static func clients(_ clients: [ClientInfo]) -> [[String]] {
        [["ID", "PEER", "CONNECTED SINCE", "LAST HEARD", "INTERVAL", "WORKER"]]
            + clients.map { client in
                [
                    client.id, client.peer, TimeText.timestamp(milliseconds: client.connectedAtMS),
                    "\(TimeText.duration(milliseconds: client.lastHeardMSAgo)) ago",
                    TimeText.duration(milliseconds: client.intervalMS),
                    "\(client.worker)",
                ]
            }
    }

    static func client(_ client: ClientInfo) -> [[String]] {
        [
            ["id", client.id],
            ["peer", client.peer],
            ["connected since", TimeText.timestamp(milliseconds: client.connectedAtMS)],
            ["last heard", "\(TimeText.duration(milliseconds: client.lastHeardMSAgo)) ago"],
            ["interval", TimeText.duration(milliseconds: client.intervalMS)],
            ["timeout", TimeText.duration(milliseconds: client.timeoutMS)],
            ["worker", "\(client.worker)"],
        ]
    }

    /// `2025-06-01T08:00:05.120Z  #41  offline   dev-1  10.0.0.7:51234  timeout after 5.1s`
    static func event(_ event: PresenceEvent) -> String {
        let kind = event.kind.rawValue + String(repeating: " ", count: max(0, 8 - event.kind.rawValue.count))
        var line =
            "\(TimeText.timestamp(milliseconds: event.timeMS))  #\(event.seq)  \(kind)  \(event.id)  \(event.peer)"
        if let reason = event.reason {
            line += "  \(reason) after \(TimeText.duration(milliseconds: event.durationMS))"
        }
        if let note = event.note { line += " (\(note))" }
        if let restart = event.restart {
            line +=
                "daemon restarted: \(restart.restored) sessions kept, \(restart.orphaned) ended, \(restart.lost) lost, switch took \(TimeText.duration(milliseconds: event.durationMS))"
        }
        return line
    }
}
