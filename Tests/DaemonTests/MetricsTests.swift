import Foundation
// The metrics endpoint against the real daemon: `GET /metrics` parsed by the Prometheus project's own
// Python parser (prometheus_client), counts that follow what clients did, and everything else refused:
// other paths and methods, an oversized request, a request that never ends.
import TestSupport
import Testing

/// One exchange over a fresh connection: sends `request`, then reads until the daemon closes.
/// `response` is everything received, `isClosed` whether the daemon closed within `seconds`.
func httpExchange(port: UInt16, _ request: String, within seconds: Double = 5) async throws -> (
    response: String, isClosed: Bool
) {
    let client = try Client(port: port)
    client.send(request)
    var lines: [String] = []
    while let line = await client.readLine(within: seconds) { lines.append(line) }
    let isClosed = await client.isClosedByServer(within: 0)
    return (lines.map { $0 + "\n" }.joined(), isClosed)
}

/// A metric family as prometheus_client's parser reads it.
struct MetricFamily {
    var type: String
    var help: String
    /// (sample name, labels, value)
    var samples: [(name: String, labels: [String: String], value: Double)]

    func value(_ sample: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == sample && $0.labels == labels }?.value
    }
}

/// Parses Prometheus text with `prometheus_client.parser.text_string_to_metric_families`, by family name.
/// The Debian package python3-prometheus-client installs it for /usr/bin/python3
/// (scripts/install-deps.sh test).
func parsePrometheus(_ text: String) throws -> [String: MetricFamily] {
    let script = """
        import json, math, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = {}
        for family in text_string_to_metric_families(sys.stdin.read()):
            families[family.name] = {"type": family.type, "help": family.documentation, "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)}
                for s in family.samples]}
        print(json.dumps(families))
        """
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = ["-c", script]
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let failure = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TestFailure.message("prometheus_client refused the text: \(failure)\n\(text)")
    }
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
    var families: [String: MetricFamily] = [:]
    for (name, family) in json {
        let samples = (family["samples"] as? [[String: Any]] ?? []).map { sample in
            (
                name: sample["name"] as? String ?? "",
                labels: sample["labels"] as? [String: String] ?? [:],
                value: (sample["value"] as? Double) ?? ((sample["value"] as? String) == "inf" ? .infinity : .nan)
            )
        }
        families[name] = MetricFamily(
            type: family["type"] as? String ?? "", help: family["help"] as? String ?? "", samples: samples)
    }
    return families
}

/// A daemon with metrics on a kernel-picked port, auth on (for the auth-failure counter) and no control socket.
private func metricsDaemon() async throws -> (daemon: Daemon, metricsPort: UInt16) {
    let daemon = try await Daemon(
        config: authConfig(
            secretFile: try secretFile(),
            extra: """

                [metrics]
                listen = "127.0.0.1:0"
                """))
    let line = try #require(await daemon.waitForLog("metrics: serving http://127.0.0.1:"))
    let port = line.split(separator: "http://127.0.0.1:").last.flatMap { UInt16($0.prefix { $0.isNumber }) }
    return (daemon, try #require(port))
}

@Suite struct MetricsTests {
    @Test func scrapeIsValidPrometheusTextThatCountsWhatClientsDid() async throws {
        let (daemon, metricsPort) = try await metricsDaemon()
        let staying = try Client(port: daemon.port)
        staying.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\nPING\n")
        #expect(await staying.readLine()?.hasPrefix("OK dev-1 ") == true)
        #expect(await staying.readLine() == "PONG")
        let leaving = try Client(port: daemon.port)
        leaving.send("HELLO dev-2 token=\(testTokens["dev-2"]!)\nPING\nBYE\n")
        #expect(await leaving.isClosedByServer())
        let refused = try Client(port: daemon.port)
        refused.send("HELLO dev-3\n")
        #expect(await refused.readLine() == "ERR auth-failed token required")
        #expect(await refused.isClosedByServer())

        let (response, isClosed) = try await httpExchange(
            port: metricsPort, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(isClosed)
        let parts = response.components(separatedBy: "\r\n\r\n")
        try #require(parts.count == 2, "response: \(response)")
        let head = parts[0].components(separatedBy: "\r\n")
        #expect(head.first == "HTTP/1.1 200 OK")
        #expect(head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(head.contains("Content-Length: \(parts[1].utf8.count)"))
        let families = try parsePrometheus(parts[1])

        #expect(families["heartbeatd_clients_connected"]?.type == "gauge")
        #expect(families["heartbeatd_clients_connected"]?.value("heartbeatd_clients_connected") == 1)
        #expect(families["heartbeatd_connections_open"]?.value("heartbeatd_connections_open") == 1)
        #expect(families["heartbeatd_workers"]?.value("heartbeatd_workers") == 1)
        #expect(families["heartbeatd_sessions"]?.type == "counter")
        #expect(families["heartbeatd_sessions"]?.value("heartbeatd_sessions_total") == 3)
        // PING, PING, BYE: every line from an identified client is a heartbeat.
        #expect(families["heartbeatd_heartbeats"]?.value("heartbeatd_heartbeats_total") == 3)
        #expect(
            families["heartbeatd_auth_failures"]?.value("heartbeatd_auth_failures_total", ["reason": "missing-token"])
                == 1)
        #expect(
            families["heartbeatd_auth_failures"]?.value("heartbeatd_auth_failures_total", ["reason": "bad-mac"]) == 0)
        let reaps = try #require(families["heartbeatd_reaps"])
        #expect(reaps.type == "counter")
        #expect(reaps.help == "Sessions ended, by reason.")
        #expect(
            Set(reaps.samples.compactMap { $0.labels["reason"] }) == [
                "eof", "reset", "timeout", "hello-timeout", "handshake-timeout", "handshake-failed", "replaced",
                "kicked", "protocol", "overload", "shutdown", "bye", "restart", "revoked",
            ])
        #expect(reaps.value("heartbeatd_reaps_total", ["reason": "bye"]) == 1)
        #expect(reaps.value("heartbeatd_reaps_total", ["reason": "protocol"]) == 1)
        #expect(reaps.value("heartbeatd_reaps_total", ["reason": "timeout"]) == 0)
        let build = try #require(families["heartbeatd_build_info"])
        #expect(build.samples.count == 1)
        #expect(build.samples.first?.value == 1)
        #expect(build.samples.first?.labels["version"]?.isEmpty == false)

        let turns = try #require(families["heartbeatd_loop_turn_seconds"])
        #expect(turns.type == "histogram")
        let buckets = turns.samples.filter { $0.name == "heartbeatd_loop_turn_seconds_bucket" }
        #expect(buckets.count == 16)
        #expect(buckets.last?.labels["le"] == "+Inf")
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value }, "buckets are cumulative")
        let count = try #require(turns.value("heartbeatd_loop_turn_seconds_count"))
        #expect(count > 0)
        #expect(buckets.last?.value == count)
        #expect((turns.value("heartbeatd_loop_turn_seconds_sum") ?? -1) >= 0)
    }

    @Test func countersOnlyGrowFromScrapeToScrape() async throws {
        let (daemon, metricsPort) = try await metricsDaemon()
        func sessions() async throws -> Double? {
            let (response, _) = try await httpExchange(port: metricsPort, "GET /metrics HTTP/1.0\r\n\r\n")
            let body = try #require(response.components(separatedBy: "\r\n\r\n").last)
            return try parsePrometheus(body)["heartbeatd_sessions"]?.value("heartbeatd_sessions_total")
        }
        #expect(try await sessions() == 0)
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await client.readLine()?.hasPrefix("OK") == true)
        #expect(try await sessions() == 1)
        #expect(try await sessions() == 1)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        ("HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        ("DELETE /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        ("GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("hello\n\n", "HTTP/1.1 400 Bad Request"),
        ("GET /metrics?name=x HTTP/1.1\n\n", "HTTP/1.1 200 OK"),
    ])
    func onlyGetMetricsIsServed(request: String, status: String) async throws {
        let (daemon, metricsPort) = try await metricsDaemon()
        let (response, isClosed) = try await httpExchange(port: metricsPort, request)
        #expect(response.hasPrefix(status + "\r\n"), "\(response)")
        #expect(isClosed)
        if status.contains("405") { #expect(response.contains("\r\nAllow: GET\r\n")) }
        #expect(daemon.isRunning)
    }

    @Test func aRequestOver8KiBIsClosedUnanswered() async throws {
        let (daemon, metricsPort) = try await metricsDaemon()
        let padding = String(repeating: "a", count: 8 * 1024)
        let (response, isClosed) = try await httpExchange(
            port: metricsPort, "GET /metrics HTTP/1.1\r\nX-Padding: \(padding)\r\n\r\n")
        #expect(response.isEmpty)
        #expect(isClosed)
        // The endpoint still serves the next scraper.
        let (next, _) = try await httpExchange(port: metricsPort, "GET /metrics HTTP/1.1\r\n\r\n")
        #expect(next.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(daemon.isRunning)
    }

    @Test func aRequestThatNeverEndsIsClosedUnanswered() async throws {
        let (daemon, metricsPort) = try await metricsDaemon()
        let slow = try Client(port: metricsPort)
        slow.send("GET /metrics HTTP/1.1\r\nHost: slow\r\n")
        // The deadline is one second; the daemon closes, and says nothing.
        #expect(await slow.isClosedByServer(within: 10))
        #expect(await slow.readLine(within: 0) == nil)
        #expect(daemon.isRunning)
    }

    @Test func noEndpointUnlessAsked() async throws {
        let daemon = try await Daemon(config: "[control]\nsocket = \"\"\n")
        #expect(daemon.lines(containing: "metrics:").isEmpty)
    }

    @Test func aMetricsAddressInUseStopsTheStart() async throws {
        let busy = try Listener()
        let config = try configFile("[control]\nsocket = \"\"\n[metrics]\nlisten = \"127.0.0.1:\(busy.port)\"\n")
        let finished = try await runHeartbeatd(["--config", config, "--listen", "127.0.0.1:0"])
        #expect(finished.status == 1)
        #expect(finished.standardError.contains("cannot serve metrics on 127.0.0.1:\(busy.port)"))
    }
}
