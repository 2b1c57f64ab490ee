// TLS listeners against the real daemon over loopback, with certificates made by the openssl CLI:
// HELLO through `openssl s_client` and through the TLS module's client, resumption, client
// certificates and the id check, reload of the certificate, and each bad input ending only its own
// connection with a named reason, one `tls-failed` log line and a counted metric.
import Foundation
import TLS
import TestSupport
import Testing

/// A [tls] section on a kernel-picked port with the test certificates, no control socket, and `extra`.
func tlsConfig(
    clientCA: String = "", handshakeTimeout: String = "5s", certificate: String? = nil, key: String? = nil,
    extra: String = ""
) -> String {
    TestCertificates.shared.tlsSection(
        clientCA: clientCA, handshakeTimeout: handshakeTimeout, certificate: certificate, key: key)
            + """
            [control]
            socket = ""
            \(extra)
            """
}

/// A TLS client through the handshake; throws what the handshake threw.
func tlsClient(_ daemon: Daemon, certificate: String? = nil, session: TLSSession? = nil) throws -> TLSClient {
    let client = try TLSClient(
        port: daemon.tlsPort, context: try TLSClient.context(certificate: certificate), session: session)
    try client.handshake()
    return client
}

@Suite struct TLSTests {
    let certificates = TestCertificates.shared

    @Test func helloOverOpenSSLsClientGetsOK() async throws {
        let daemon = try await Daemon(config: tlsConfig())
        try #require(daemon.tlsPort != 0)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_client", "-connect", "127.0.0.1:\(daemon.tlsPort)", "-CAfile", certificates.ca, "-verify_return_error",
            "-verify_ip", "127.0.0.1", "-quiet",
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        input.fileHandleForWriting.write(Data("HELLO dev-1 interval=2000\nPING\nBYE\n".utf8))
        // BYE: the daemon answers and closes, so s_client ends and its output is complete.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text == "OK dev-1 interval=2000 timeout=6000\nPONG\nBYE bye\n")
        #expect(await daemon.waitForLog("event=offline", "reason=bye", "client.id=dev-1") != nil)
    }

    @Test func theTLSClientSpeaksTheProtocolAndResumes() async throws {
        let daemon = try await Daemon(config: tlsConfig())
        let first = try tlsClient(daemon)
        #expect(first.stream.protocolVersion == "TLSv1.3")
        first.send("HELLO dev-1\nPING\n")
        #expect(first.readLine()?.hasPrefix("OK dev-1 ") == true)
        #expect(first.readLine() == "PONG")
        let session = try #require(first.stream.session())
        first.send("BYE\n")
        #expect(first.readLine() == "BYE bye")
        #expect(first.isClosedByServer())

        let second = try tlsClient(daemon, session: session)
        #expect(second.stream.isResumed)
        second.send("HELLO dev-1\n")
        #expect(second.readLine()?.hasPrefix("OK dev-1 ") == true)
        // The plain listener is unchanged beside it.
        _ = try await identifiedClient("dev-2", port: daemon.port)
    }

    @Test func aClientCertificateMustComeFromTheCAAndNameTheID() async throws {
        let daemon = try await Daemon(config: tlsConfig(clientCA: certificates.ca))
        let good = try tlsClient(daemon, certificate: "dev-1")
        good.send("HELLO dev-1\n")
        #expect(good.readLine()?.hasPrefix("OK dev-1 ") == true)

        let otherID = try tlsClient(daemon, certificate: "dev-2")
        otherID.send("HELLO dev-1\n")
        #expect(otherID.readLine() == "ERR auth-failed certificate is for another id")
        #expect(otherID.isClosedByServer())
        // The refused HELLO took nothing over: dev-1 is still served.
        good.send("PING\n")
        #expect(good.readLine() == "PONG")

        for (name, reason) in [("rogue", "unknown-ca"), ("expired", "expired")] {
            let client = try TLSClient(
                port: daemon.tlsPort, context: try TLSClient.context(certificate: name))
            // TLS 1.3: the client's handshake ends before the server has checked its certificate.
            try? client.handshake()
            #expect(!client.send("HELLO dev-1\n") || client.readLine() == nil, "\(name)")
            #expect(await daemon.waitForLog("event=tls-failed", "tls.reason=\(reason)") != nil, "\(name)")
        }
        let anonymous = try TLSClient(port: daemon.tlsPort, context: try TLSClient.context())
        try? anonymous.handshake()
        #expect(!anonymous.send("HELLO dev-1\n") || anonymous.readLine() == nil)
        #expect(await daemon.waitForLog("event=tls-failed", "tls.reason=no-certificate") != nil)
        #expect(await daemon.waitForLog("event=tls-failed", "tls.reason=id-mismatch") != nil)
        good.send("PING\n")
        #expect(good.readLine() == "PONG")
    }

    @Test func badInputEndsOnlyItsOwnConnectionWithANamedReason() async throws {
        let daemon = try await Daemon(config: tlsConfig(handshakeTimeout: "500ms"))
        let bystander = try tlsClient(daemon)
        bystander.send("HELLO dev-1\n")
        #expect(bystander.readLine()?.hasPrefix("OK dev-1 ") == true)

        let plaintext = try Client(port: daemon.tlsPort)
        plaintext.send("HELLO dev-2\n")
        #expect(await plaintext.isClosedByServer())
        #expect(await daemon.sessionLine("tls-failed", of: plaintext).map { field("tls.reason", in: $0) } == "not-tls")

        let garbage = try Client(port: daemon.tlsPort)
        garbage.send(bytes: (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 200) })
        #expect(await garbage.isClosedByServer())
        let garbageLine = await daemon.sessionLine("tls-failed", of: garbage)
        #expect(garbageLine.map { field("reason", in: $0) } == "handshake-failed")

        // A ClientHello record header and a few bytes of it, then nothing: the handshake deadline ends it.
        let stalled = try Client(port: daemon.tlsPort)
        stalled.send(bytes: [0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFC, 0x03, 0x03])
        #expect(await stalled.isClosedByServer())
        let stalledLine = await daemon.sessionLine("tls-failed", of: stalled)
        #expect(stalledLine.map { field("reason", in: $0) } == "handshake-timeout")
        #expect(stalledLine.map { field("tls.reason", in: $0) } == "timeout")

        // TLS on the plain port is a bad line there, as before.
        let misdirected = try TLSClient(port: daemon.port, context: try TLSClient.context())
        #expect(throws: (any Error).self) { try misdirected.handshake() }
        #expect(await daemon.waitForLog("event=closed", "reason=protocol") != nil)

        bystander.send("PING\n")
        #expect(bystander.readLine() == "PONG")
    }

    @Test func failuresAreCountedByReasonInTheMetrics() async throws {
        let daemon = try await Daemon(config: tlsConfig(extra: "\n[metrics]\nlisten = \"127.0.0.1:0\""))
        let line = try #require(await daemon.waitForLog("metrics: serving http://127.0.0.1:"))
        let metricsPort = try #require(
            line.split(separator: "http://127.0.0.1:").last.flatMap { UInt16($0.prefix { $0.isNumber }) })
        let plaintext = try Client(port: daemon.tlsPort)
        plaintext.send("HELLO dev-2\n")
        #expect(await plaintext.isClosedByServer())
        let good = try tlsClient(daemon)
        good.send("HELLO dev-1\n")
        #expect(good.readLine()?.hasPrefix("OK dev-1 ") == true)
        let (response, _) = try await httpExchange(port: metricsPort, "GET /metrics HTTP/1.0\r\n\r\n")
        #expect(response.contains("heartbeatd_tls_handshake_failures_total{reason=\"not-tls\"} 1"))
        #expect(response.contains("heartbeatd_tls_handshake_failures_total{reason=\"timeout\"} 0"))
        #expect(response.contains("heartbeatd_tls_handshakes_total 1"))
        #expect(response.contains("heartbeatd_reaps_total{reason=\"handshake-failed\"} 1"))
    }

    @Test func sighupReloadsTheCertificateAndABadFileKeepsTheOldOne() async throws {
        let daemon = try await Daemon(config: tlsConfig())
        let before = try tlsClient(daemon)
        #expect(before.stream.peerCommonName() == "localhost")

        try daemon.rewriteConfig(
            tlsConfig(certificate: certificates.otherServerCertificate, key: certificates.otherServerKey))
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)
        let after = try tlsClient(daemon)
        #expect(after.stream.peerCommonName() == "localhost-2")

        // A key that does not match: the reload fails, naming the key, and the running chain stays.
        try daemon.rewriteConfig(
            tlsConfig(certificate: certificates.serverCertificate, key: certificates.otherServerKey))
        daemon.signal(SIGHUP)
        let failed = try #require(await daemon.waitForLog("reload failed", "tls.key"))
        #expect(failed.contains("does not match the certificate"))
        let still = try tlsClient(daemon)
        #expect(still.stream.peerCommonName() == "localhost-2")
        // The session opened before the reloads is untouched.
        before.send("HELLO dev-1\n")
        #expect(before.readLine()?.hasPrefix("OK dev-1 ") == true)
    }

    @Test func aMissingOrMismatchedFileStopsTheStartNamingTheKey() async throws {
        let missing = try await Daemon(config: tlsConfig(certificate: "/nonexistent/cert.pem"), waitForStart: false)
        #expect(await missing.waitForExit() == 1)
        #expect(missing.log.contains("tls.certificate: /nonexistent/cert.pem: cannot read: No such file or directory"))

        let mismatched = try await Daemon(config: tlsConfig(key: certificates.otherServerKey), waitForStart: false)
        #expect(await mismatched.waitForExit() == 1)
        #expect(mismatched.log.contains("tls.key: \(certificates.otherServerKey) does not match the certificate"))

        let noKey = try await Daemon(config: tlsConfig(key: ""), waitForStart: false)
        #expect(await noKey.waitForExit() == 1)
        #expect(noKey.log.contains("tls.key: tls.listen is set but there is no key"))
    }
}
