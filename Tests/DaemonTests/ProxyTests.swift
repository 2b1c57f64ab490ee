import Foundation
// PROXY protocol listeners against the real daemon: the header's source is the session's peer in logs and
// `heartbeatctl clients`, max_clients_per_address counts the real address, bad or absent headers end the
// connection (reason protocol), and a listener not marked for it refuses a header as a bad line.
import TestSupport
import Testing

private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

/// A v2 PROXY header for TCP over IPv4 from `source`:`port` to 10.0.0.1:7700, with one TLV to skip.
private func v2Header(_ source: [UInt8], port: UInt16) -> [UInt8] {
    let body = source + [10, 0, 0, 1] + [UInt8(port >> 8), UInt8(port & 0xFF), 0x1E, 0x14] + [0x04, 0x00, 0x01, 0x7A]
    return signature + [0x21, 0x11, 0, UInt8(body.count)] + body
}

/// A daemon whose one listener (127.0.0.1:<free port>) is marked as behind a proxy, with a control socket.
/// The port is named in the config, so another test's daemon may take it between `freePort` and the bind
/// (the daemon then refuses to start): a few tries.
private func proxiedDaemon(_ place: ControlPlace, extra: String = "") async throws -> Daemon {
    for attempt in 1...3 {
        let address = "127.0.0.1:\(try freePort())"
        do {
            return try await Daemon(
                config: place.config("listen = [\"\(address)\"]\n\(extra)\n[proxy]\nlisteners = [\"\(address)\"]\n"),
                arguments: [])
        } catch  where attempt < 3 {
            continue
        }
    }
    throw TestFailure.message("unreachable")
}

@Suite struct ProxyTests {
    @Test func theHeadersSourceIsThePeerEverywhere() async throws {
        let place = ControlPlace()
        let daemon = try await proxiedDaemon(place)
        let v1 = try Client(port: daemon.port)
        v1.send("PROXY TCP4 192.0.2.7 10.0.0.1 54321 7700\r\nHELLO dev-1\n")
        #expect(await v1.readLine()?.hasPrefix("OK dev-1 ") == true)
        let v2 = try Client(port: daemon.port)
        v2.send(bytes: v2Header([198, 51, 100, 9], port: 4242) + Array("HELLO dev-2\n".utf8))
        #expect(await v2.readLine()?.hasPrefix("OK dev-2 ") == true)
        let v6 = try Client(port: daemon.port)
        v6.send("PROXY TCP6 2001:db8::5 ::1 80 7700\r\nHELLO dev-3\n")
        #expect(await v6.readLine()?.hasPrefix("OK dev-3 ") == true)
        // LOCAL (a proxy's health check) keeps the connection's own address.
        let local = try Client(port: daemon.port)
        local.send(bytes: signature + [0x20, 0x00, 0, 0] + Array("HELLO dev-4\n".utf8))
        #expect(await local.readLine()?.hasPrefix("OK dev-4 ") == true)

        let json = try await heartbeatctl("clients", "--json", "--socket", place.socket)
        let peers = try json.lines.map(jsonObject).map { $0["peer"] as? String }
        #expect(peers == ["192.0.2.7:54321", "198.51.100.9:4242", "[2001:db8::5]:80", "127.0.0.1:\(local.localPort)"])
        let online = daemon.lines.filter { field("event", in: $0) == "online" }.compactMap { field("peer", in: $0) }
        #expect(online.contains("192.0.2.7:54321") && online.contains("198.51.100.9:4242"))
    }

    @Test func thePerAddressLimitCountsTheRealAddress() async throws {
        let place = ControlPlace()
        let daemon = try await proxiedDaemon(place, extra: "[limits]\nmax_clients_per_address = 1\n")
        // Every connection comes from the proxy's one address; only the header's address is limited.
        let first = try Client(port: daemon.port)
        first.send("PROXY TCP4 192.0.2.7 10.0.0.1 1000 7700\r\nHELLO a\n")
        #expect(await first.readLine()?.hasPrefix("OK a ") == true)
        let other = try Client(port: daemon.port)
        other.send("PROXY TCP4 192.0.2.8 10.0.0.1 1000 7700\r\nHELLO b\n")
        #expect(await other.readLine()?.hasPrefix("OK b ") == true)
        let second = try Client(port: daemon.port)
        second.send("PROXY TCP4 192.0.2.7 10.0.0.1 1001 7700\r\nHELLO c\n")
        #expect(await second.readLine() == "ERR server-full")
        #expect(await second.isClosedByServer())
        first.send("PING\n")
        #expect(await first.readLine() == "PONG")
    }

    @Test(arguments: [
        ("HELLO dev-1\n", "ERR bad-line PROXY header expected"),
        (
            "PROXY TCP4 192.0.2.7 10.0.0.1 54321\r\n",
            "ERR bad-line PROXY v1 header needs <src> <dst> <sport> <dport>, one space apart"
        ),
        ("PROXY TCP4 999.0.2.7 10.0.0.1 1 7700\r\n", "ERR bad-line PROXY header address is malformed"),
        ("PROXY TCP4 " + String(repeating: "1", count: 100), "ERR bad-line PROXY v1 header longer than 107 bytes"),
    ])
    func aBadOrMissingHeaderEndsTheConnection(sent: String, answer: String) async throws {
        let daemon = try await proxiedDaemon(ControlPlace())
        let client = try Client(port: daemon.port)
        client.send(sent)
        #expect(await client.readLine() == answer)
        #expect(await client.isClosedByServer())
        let closed = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: closed) == "protocol")
    }

    @Test func aHeaderThatNeverArrivesIsAHelloTimeout() async throws {
        let daemon = try await proxiedDaemon(ControlPlace(), extra: "[heartbeat]\nhello_timeout = \"300ms\"\n")
        let client = try Client(port: daemon.port)
        client.send("PROXY TCP4 192.0.2.7")
        #expect(await client.readLine() == "ERR hello-timeout")
        #expect(await client.isClosedByServer())
    }

    @Test func aHeaderInPiecesIsPutTogether() async throws {
        let daemon = try await proxiedDaemon(ControlPlace())
        let client = try Client(port: daemon.port)
        let header = v2Header([203, 0, 113, 1], port: 9)
        client.send(bytes: Array(header[..<7]))
        try await Task.sleep(for: .milliseconds(50))
        client.send(bytes: Array(header[7...]) + Array("HELLO dev-1\n".utf8))
        #expect(await client.readLine()?.hasPrefix("OK dev-1 ") == true)
        #expect(await daemon.waitForLog("client online", "peer=203.0.113.1:9") != nil)
    }

    @Test func anUnmarkedListenerTreatsAHeaderAsABadLine() async throws {
        let daemon = try await Daemon(config: "[control]\nsocket = \"\"\n")
        let v1 = try Client(port: daemon.port)
        v1.send("PROXY TCP4 192.0.2.7 10.0.0.1 54321 7700\r\nHELLO dev-1\n")
        #expect(await v1.readLine() == "ERR bad-hello the first line must be HELLO <id>")
        let v2 = try Client(port: daemon.port)
        v2.send(bytes: v2Header([198, 51, 100, 9], port: 4242))
        #expect(await v2.readLine()?.hasPrefix("ERR ") == true)
        #expect(await v2.isClosedByServer())
    }

    @Test func aProxyListenerThatIsNotAListenerIsAnError() async throws {
        let bad = try await runHeartbeatd([
            "--check-config", "--config", try configFile("[proxy]\nlisteners = [\"127.0.0.1:7702\"]\n"),
        ])
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("proxy.listeners[0]: \"127.0.0.1:7702\" is not in listen"))
    }
}
