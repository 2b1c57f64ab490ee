// The Prometheus text of one scrape, built from the workers' counters; served by MetricsEndpoint.
import Prometheus
import ServerCore
import TLS

/// The text of one scrape. Counters and gauges go through a swift-prometheus registry, refreshed from
/// the workers' counters at scrape time (pull: nothing is recorded on the heartbeat path for them).
/// The loop-turn histogram is written here in the same text format, from TurnHistogram's buckets:
/// swift-prometheus's Histogram only takes one observation at a time, under a lock (see TurnHistogram).
///
/// swift-metrics is not used: it is a facade for code that records as things happen, which no code
/// here does, and its API cannot carry the HELP texts the registry takes.
struct MetricsExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let registry = PrometheusCollectorRegistry()
    private let clients: Gauge
    private let connections: Gauge
    private let workers: Gauge
    private let sessions: Counter
    private let heartbeats: Counter
    private let authFailures: [AuthFailure: Counter]
    private let reaps: [Reason: Counter]
    private let tlsHandshakes: Counter
    private let tlsResumptions: Counter
    private let tlsFailures: [String: Counter]
    private var acceptErrors: [String: Counter] = [:]
    private let refusals: Counter

    init() {
        clients = registry.makeGauge(
            descriptor: Self.name("clients_connected", help: "Clients identified by HELLO and connected now."))
        connections = registry.makeGauge(
            descriptor: Self.name("connections_open", help: "Open client connections, identified or not yet."))
        workers = registry.makeGauge(
            descriptor: Self.name("workers", help: "Worker threads, each with its own event loop."))
        sessions = registry.makeCounter(
            descriptor: Self.name("sessions", unit: "total", help: "Client connections accepted."))
        heartbeats = registry.makeCounter(
            descriptor: Self.name(
                "heartbeats", unit: "total", help: "Lines received from identified clients (PING and others)."))
        var authFailures: [AuthFailure: Counter] = [:]
        let authName = Self.name(
            "auth_failures", unit: "total", help: "Connections refused with ERR auth-failed, by reason.")
        for failure in AuthFailure.allCases {
            authFailures[failure] = registry.makeCounter(descriptor: authName, labels: [("reason", failure.rawValue)])
        }
        self.authFailures = authFailures
        var reaps: [Reason: Counter] = [:]
        let reapName = Self.name("reaps", unit: "total", help: "Sessions ended, by reason.")
        for reason in Reason.allCases {
            reaps[reason] = registry.makeCounter(descriptor: reapName, labels: [("reason", reason.rawValue)])
        }
        self.reaps = reaps
        tlsHandshakes = registry.makeCounter(
            descriptor: Self.name("tls_handshakes", unit: "total", help: "TLS handshakes completed, full or resumed."))
        tlsResumptions = registry.makeCounter(
            descriptor: Self.name(
                "tls_resumptions", unit: "total", help: "TLS handshakes that resumed a session (a ticket)."))
        var tlsFailures: [String: Counter] = [:]
        let failureName = Self.name(
            "tls_handshake_failures", unit: "total",
            help: "TLS connections that failed the handshake, its deadline or the certificate's id check, by reason.")
        for kind in TLSError.handshakeFailures {
            tlsFailures[kind.rawValue] = registry.makeCounter(
                descriptor: failureName, labels: [("reason", kind.rawValue)])
        }
        self.tlsFailures = tlsFailures
        refusals = registry.makeCounter(
            descriptor: Self.name(
                "connections_refused", unit: "total",
                help: "Connections reset at accept, before they were sessions, by reason."),
            labels: [("reason", "connect-rate")])
        registry.makeGauge(
            descriptor: Self.name("build_info", help: "Always 1; the version is in the label."),
            labels: [("version", heartbeatdVersion)]
        ).set(to: 1)
    }

    private static func name(_ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "heartbeatd", metricName: metric, unitName: unit, helpText: help)
    }

    mutating func text(_ snapshot: Snapshot, workers workerCount: Int) -> [UInt8] {
        clients.set(Double(snapshot.identified))
        connections.set(Double(snapshot.connected))
        workers.set(Double(workerCount))
        set(sessions, snapshot.sessionsTotal)
        set(heartbeats, snapshot.heartbeats)
        for (failure, counter) in authFailures { set(counter, snapshot.authFailures[failure] ?? 0) }
        for (reason, counter) in reaps { set(counter, snapshot.reaps[reason] ?? 0) }
        set(tlsHandshakes, snapshot.tlsHandshakes)
        set(tlsResumptions, snapshot.tlsResumptions)
        for (kind, counter) in tlsFailures { set(counter, snapshot.tlsHandshakeFailures[kind] ?? 0) }
        set(refusals, snapshot.connectRateRefusals)
        for (name, count) in snapshot.acceptErrors {
            if acceptErrors[name] == nil {
                acceptErrors[name] = registry.makeCounter(
                    descriptor: Self.name(
                        "accept_errors", unit: "total", help: "accept(2) failures on the client listeners, by errno."),
                    labels: [("errno", name)])
            }
            acceptErrors[name].map { set($0, count) }
        }
        var text = registry.emitToBuffer()
        appendTurnHistogram(snapshot, to: &text)
        return text
    }

    /// A Counter only goes up by increments; the workers' totals are absolute, so start from zero.
    /// Safe: the supervisor's loop is the only thread that touches the registry.
    private func set(_ counter: Counter, _ value: UInt64) {
        counter.reset()
        counter.increment(by: Int64(clamping: value))
    }

    private func appendTurnHistogram(_ snapshot: Snapshot, to text: inout [UInt8]) {
        let name = "heartbeatd_loop_turn_seconds"
        var lines =
            "# HELP \(name) Time a worker's event loop spends per turn between two waits.\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        for (bucket, bound) in TurnHistogram.bounds.enumerated() {
            cumulative += bucket < snapshot.turnCounts.count ? snapshot.turnCounts[bucket] : 0
            lines += "\(name)_bucket{le=\"\(seconds(bound))\"} \(cumulative)\n"
        }
        cumulative += snapshot.turnCounts.last ?? 0
        lines += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        lines += "\(name)_sum \(seconds(snapshot.turnNanoseconds))\n"
        lines += "\(name)_count \(cumulative)\n"
        text.append(contentsOf: lines.utf8)
    }

    /// Nanoseconds as decimal seconds without float rounding noise: 2_500_000 → "0.0025".
    private func seconds(_ nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        guard fraction > 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
