// heartbeat-bench over TLS against the real daemon: hold and churn with --tls, and --resume resuming
// sessions (counted by the daemon's heartbeatd_tls_resumptions_total).
import Foundation
import TestSupport
import Testing

@Suite struct HeartbeatBenchTLSTests {
    private func tlsDaemon() async throws -> (Daemon, UInt16) {
        let certificates = TestCertificates.shared
        let daemon = try await Daemon(
            config: certificates.tlsSection()
                + """
                [control]
                socket = ""
                [metrics]
                listen = "127.0.0.1:0"
                """)
        let line = try #require(await daemon.waitForLog("metrics: serving http://127.0.0.1:"))
        let metrics = line.split(separator: "http://127.0.0.1:").last.flatMap { UInt16($0.prefix { $0.isNumber }) }
        return (daemon, try #require(metrics))
    }

    private func bench(_ arguments: [String], port: UInt16) async throws -> [String: Any] {
        let child = try Child(
            executable: builtProduct("heartbeat-bench"),
            arguments: arguments + [
                "--server", "127.0.0.1:\(port)", "--json", "--tls", "--tls-ca", TestCertificates.shared.ca,
            ])
        #expect(await child.exitStatus(within: 30) == 0, "heartbeat-bench \(arguments): \(child.standardError)")
        _ = await eventually(within: 2) { child.standardOutput.hasSuffix("\n") }
        let object = try JSONSerialization.jsonObject(with: Data(child.standardOutput.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(child.standardOutput)")
    }

    @Test func holdAndChurnWithResumptionOverTLS() async throws {
        let (daemon, metricsPort) = try await tlsDaemon()
        defer { daemon.stop() }
        let hold = try await bench(
            ["hold", "-n", "50", "-i", "1s", "-d", "1s", "--pid", "\(daemon.pid)"], port: daemon.tlsPort)
        #expect(hold["connected"] as? Int == 50)
        #expect(hold["failures"] as? Int == 0)
        #expect(hold["pongs"] as? Int == hold["heartbeats"] as? Int)

        let churn = try await bench(
            ["churn", "-k", "100", "-c", "10", "-m", "clean", "--resume"], port: daemon.tlsPort)
        #expect(churn["cycles"] as? Int == 100)
        #expect(churn["failures"] as? Int == 0)
        let scrape = try Client(port: metricsPort)
        scrape.send("GET /metrics HTTP/1.0\r\n\r\n")
        var resumed: String?
        while let line = await scrape.readLine() {
            if line.hasPrefix("heartbeatd_tls_resumptions_total ") { resumed = line }
        }
        // The first connection of each of the 10 slots is a full handshake; the other 90 resume.
        #expect(resumed == "heartbeatd_tls_resumptions_total 90")
    }
}
