// PROXY before TLS against the real daemon: a `[tls] listen` address in `[proxy] listeners` takes a v1 or v2
// header in plain text, then the handshake on the same socket; the header's source is the peer in
// `heartbeatctl clients`. A bad header is refused in plain text (reason protocol), a missing one runs into
// handshake_timeout.
import Foundation
import TestSupport
import Testing

/// A daemon whose one TLS listener is behind a proxy, with a control socket. The listener is named by its
/// configured address, port 0 included, so the kernel picks the port at bind: a port probed free beforehand
/// could be taken in between by another test's SO_REUSEPORT listener, which would then share it.
private func proxiedTLSDaemon(_ place: ControlPlace, handshakeTimeout: String = "5s") async throws -> Daemon {
    let certificates = TestCertificates.shared
    let address = "127.0.0.1:0"
    return try await Daemon(
        config: place.config(
            certificates.tlsSection(listen: address, handshakeTimeout: handshakeTimeout)
                + """
                [proxy]
                listeners = ["\(address)"]
                """))
}

/// A TLS client that sends `header` in plain text before its ClientHello, as HAProxy's send-proxy does.
private func proxiedClient(_ daemon: Daemon, header: [UInt8]) throws -> TLSClient {
    let client = try TLSClient(port: daemon.tlsPort, context: try TLSClient.context())
    client.connection.send(bytes: header)
    return client
}

@Suite struct ProxyTLSTests {
    @Test func aV1AndAV2HeaderBeforeTLSGiveThePeer() async throws {
        let place = ControlPlace()
        let daemon = try await proxiedTLSDaemon(place)
        let v1 = try proxiedClient(daemon, header: Array("PROXY TCP4 192.0.2.7 10.0.0.1 54321 7701\r\n".utf8))
        try v1.handshake()
        v1.send("HELLO dev-1\n")
        #expect(v1.readLine()?.hasPrefix("OK dev-1 ") == true)
        // v2, TCP over IPv4 from 198.51.100.9:4242 to 10.0.0.1:7701.
        let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
        let body: [UInt8] = [198, 51, 100, 9, 10, 0, 0, 1, 0x10, 0x92, 0x1E, 0x75]
        let v2 = try proxiedClient(daemon, header: signature + [0x21, 0x11, 0, UInt8(body.count)] + body)
        try v2.handshake()
        v2.send("HELLO dev-2\n")
        #expect(v2.readLine()?.hasPrefix("OK dev-2 ") == true)

        let json = try await heartbeatctl("clients", "--json", "--socket", place.socket)
        let peers = try json.lines.map(jsonObject).compactMap { $0["peer"] as? String }
        #expect(peers.sorted() == ["192.0.2.7:54321", "198.51.100.9:4242"])
        v1.send("PING\n")
        #expect(v1.readLine() == "PONG")
    }

    @Test func aBadHeaderIsRefusedBeforeTLS() async throws {
        let daemon = try await proxiedTLSDaemon(ControlPlace())
        let client = try Client(port: daemon.tlsPort)
        client.send("PROXY TCP4 999.0.2.7 10.0.0.1 1 7701\r\n")
        #expect(await client.readLine() == "ERR bad-line PROXY header address is malformed")
        #expect(await client.isClosedByServer())
        let closed = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: closed) == "protocol")
        // A ClientHello where the header belongs is garbage too.
        let direct = try TLSClient(port: daemon.tlsPort, context: try TLSClient.context())
        #expect(throws: (any Error).self) { try direct.handshake() }
    }

    @Test func aHalfHeaderRunsIntoTheHandshakeDeadline() async throws {
        let daemon = try await proxiedTLSDaemon(ControlPlace(), handshakeTimeout: "300ms")
        let client = try Client(port: daemon.tlsPort)
        client.send("PROXY TCP4 192.0.2.7")
        #expect(await client.isClosedByServer())
        let line = try #require(await daemon.sessionLine("tls-failed", of: client))
        #expect(field("reason", in: line) == "handshake-timeout")
        #expect(field("tls.reason", in: line) == "timeout")
        #expect(line.contains("no PROXY header within handshake_timeout"))
    }
}
