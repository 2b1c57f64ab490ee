// TLS through NIOSSL against `openssl s_server` (the daemon's own TLS listener is built elsewhere): the
// server verified against a private CA, a client certificate required by the server, and a server signed by
// a CA the client does not trust refused with code `.tls`. Certificates come from the openssl CLI.
import Foundation
import Glibc
import HeartbeatClient
import NIOSSL
import TestSupport
import Testing

/// A CA, a server certificate for localhost and 127.0.0.1, a client certificate, and an unrelated CA.
struct TestPKI {
    let directory: String

    init() async throws {
        directory = temporaryDirectory().appendingPathComponent("tls-\(UUID().uuidString)").path
        let script = """
            set -e
            mkdir -p '\(directory)' && cd '\(directory)'
            key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
            key ca.key; key other-ca.key; key server.key; key client.key
            openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=heartbeat-test-ca
            openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 2 -subj /CN=some-other-ca
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext
            openssl req -new -key server.key -subj /CN=localhost -out server.csr
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \\
                -extfile server.ext -out server.pem 2>/dev/null
            openssl req -new -key client.key -subj /CN=tls-client -out client.csr
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem 2>/dev/null
            """
        let shell = try Child(executable: "/bin/sh", arguments: ["-c", script])
        guard await shell.exitStatus(within: 30) == 0 else { throw SupportError("openssl: \(shell.standardError)") }
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }
}

/// `openssl s_server` on a free loopback port, requiring a client certificate signed by the test CA.
final class TLSServer: Sendable {
    let child: Child
    let port: UInt16

    init(_ pki: TestPKI) async throws {
        port = try FakeServer { _ in .say() }.port // a port that was free a moment ago
        child = try Child(
            executable: "/usr/bin/openssl",
            arguments: [
                "s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.path("server.pem"), "-key",
                pki.path("server.key"), "-CAfile", pki.path("ca.pem"), "-Verify", "1",
            ], takesInput: true)
        guard await eventually(within: 10, { self.child.standardOutput.contains("ACCEPT") }) else {
            throw SupportError("s_server did not start: \(child.standardError)")
        }
    }

    deinit { child.kill() }
}

@Suite struct TLSTests {
    static func configuration(_ pki: TestPKI, port: UInt16, trust: String, clientCertificate: Bool) throws
        -> HeartbeatClient.Configuration
    {
        var configuration = HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: port), id: "tls-1")
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.path(trust))
        if clientCertificate {
            // Loaded here, so that a bad file is an error thrown (NIOSSL's `.file` source traps on one).
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.path("client.pem")).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.path("client.key"), format: .pem))
        }
        configuration.tls = tls
        return configuration
    }

    @Test func verifiesTheServerAndShowsAClientCertificate() async throws {
        let pki = try await TestPKI()
        let server = try await TLSServer(pki)
        let client = try HeartbeatClient(
            try Self.configuration(pki, port: server.port, trust: "ca.pem", clientCertificate: true))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        // The HELLO arrives decrypted on the server's side, after it verified our certificate.
        #expect(await eventually(within: 30) { server.child.standardOutput.contains("HELLO tls-1 interval=1000") })
        server.child.write("OK tls-1 interval=1000 timeout=3000\n")
        #expect(await recorder.wait(upTo: 30) { $0.isConnected }, "\(recorder.states)")
    }

    @Test func refusesAServerItsCADidNotSign() async throws {
        let pki = try await TestPKI()
        let server = try await TLSServer(pki)
        let client = try HeartbeatClient(
            try Self.configuration(pki, port: server.port, trust: "other-ca.pem", clientCertificate: true))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil })
        #expect(
            recorder.states.compactMap(\.disconnect).first?.code == .tls,
            "\(recorder.states.compactMap(\.disconnect).first.map { "\($0) \(String(reflecting: $0.underlying))" } ?? "")"
        )
        #expect(!server.child.standardOutput.contains("HELLO"))
    }

    @Test func aServerThatRequiresACertificateRefusesAClientWithout() async throws {
        let pki = try await TestPKI()
        let server = try await TLSServer(pki)
        let client = try HeartbeatClient(
            try Self.configuration(pki, port: server.port, trust: "ca.pem", clientCertificate: false))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil })
        #expect(!recorder.states.contains { $0.isConnected })
        #expect(!server.child.standardOutput.contains("HELLO"))
    }

    @Test func aTrustFileThatCannotBeReadIsRefusedUpFront() throws {
        var configuration = HeartbeatClient.Configuration(server: Endpoint(host: "127.0.0.1", port: 7700), id: "a")
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file("/nonexistent/ca.pem")
        configuration.tls = tls
        #expect { _ = try HeartbeatClient(configuration) } throws: { ($0 as? HeartbeatClient.Error)?.code == .tls }
    }
}
