// The SwiftNIO client against heartbeatd's own TLS listener: the server verified against the test CA,
// a client certificate whose CN is the HELLO id (the daemon's `client_ca` check), and a client that
// trusts another CA refused with code `.tls` before any HELLO. Certificates: TestCertificates (openssl).
import Foundation
import HeartbeatClient
import NIOSSL
import TestSupport
import Testing

@Suite struct DaemonTLSTests {
    private let certificates = TestCertificates.shared

    /// A daemon with a TLS listener on a kernel-picked port that requires a client certificate.
    private func daemon() async throws -> Daemon {
        let daemon = try await Daemon(
            config: certificates.tlsSection(clientCA: certificates.ca)
                + """
                [control]
                socket = ""
                """)
        try #require(daemon.tlsPort != 0)
        return daemon
    }

    private func configuration(port: UInt16, trust: String, id: String) throws -> HeartbeatClient.Configuration {
        var configuration = HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: port), id: id)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trust))
        let client = certificates.client("dev-1")
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.key, format: .pem))
        configuration.tls = tls
        return configuration
    }

    @Test func connectsWithServerVerificationAndItsCertificate() async throws {
        let daemon = try await daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(try configuration(port: daemon.tlsPort, trust: certificates.ca, id: "dev-1"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.isConnected }, "\(recorder.states)")
        #expect(await daemon.waitForLog("client online", "client.id=dev-1", within: 10) != nil)
    }

    @Test func anIdThatIsNotTheCertificatesIsRefused() async throws {
        let daemon = try await daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(try configuration(port: daemon.tlsPort, trust: certificates.ca, id: "dev-2"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil || $0.isStopped })
        #expect(!recorder.states.contains { $0.isConnected })
        #expect(await daemon.waitForLog("tls-failed", within: 10) != nil)
    }

    @Test func aServerSignedByAnotherCAIsRefused() async throws {
        let daemon = try await daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            try configuration(port: daemon.tlsPort, trust: certificates.otherCA, id: "dev-1"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil })
        #expect(recorder.states.compactMap(\.disconnect).first?.code == .tls, "\(recorder.states)")
        #expect(daemon.lines(containing: "client online").isEmpty)
    }
}
