// The cluster link's state as Prometheus text and as `status`'s `cluster` member, both from one
// ClusterStatus snapshot taken on the supervisor's loop (the link lives there).
import Cluster
import ControlProtocol

extension ClusterStatus {
    var report: ClusterReport {
        ClusterReport(
            node: node, state: state.rawValue, lagMS: lagMS, inFlight: inFlight, buffered: buffered, dropped: dropped,
            held: heldSessions, reconciles: reconciles, takeovers: takeovers, nodeLostClients: nodeLostClients,
            badReplies: badReplies)
    }

    /// Gauges and counters in the text format; one `heartbeatd_cluster_link_state` line per state.
    var prometheusText: [UInt8] {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP heartbeatd_cluster_\(name) \(help)\n# TYPE heartbeatd_cluster_\(name) \(type)\n"
            text += "heartbeatd_cluster_\(name) \(value)\n"
        }
        text += "# HELP heartbeatd_cluster_link_state The Redis link's state (1 for the current one).\n"
        text += "# TYPE heartbeatd_cluster_link_state gauge\n"
        for candidate in State.allCases {
            text += "heartbeatd_cluster_link_state{state=\"\(candidate.rawValue)\"} \(candidate == state ? 1 : 0)\n"
        }
        let lag = "\(lagMS / 1_000).\(String(repeating: "0", count: 3 - "\(lagMS % 1_000)".count))\(lagMS % 1_000)"
        family("lag_seconds", "gauge", "How long the latest Redis command waited for its reply.", lag)
        family("commands_in_flight", "gauge", "Redis commands sent and not answered yet.", "\(inFlight)")
        family("events_buffered", "gauge", "Presence events waiting for the Redis link.", "\(buffered)")
        family(
            "events_dropped_total", "counter", "Presence events dropped because the buffer was full.", "\(dropped)")
        family("sessions_held", "gauge", "Sessions this node holds, as the link knows them.", "\(heldSessions)")
        family(
            "reconciles_total", "counter", "Reconciliations with Redis (reconnects, leases retaken).", "\(reconciles)")
        family("takeovers_total", "counter", "Sessions ended because another node took their id.", "\(takeovers)")
        family(
            "node_lost_clients_total", "counter", "Clients of lost nodes this node took offline.",
            "\(nodeLostClients)")
        family(
            "bad_replies_total", "counter", "Unexpected Redis replies or records, logged and skipped.", "\(badReplies)")
        return Array(text.utf8)
    }
}
