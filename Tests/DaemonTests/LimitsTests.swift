// Limits against the real daemon (DESIGN §8): max_clients, max_clients_per_address, and the client
// that never reads its replies.
import Foundation
import Testing

@Suite struct LimitsTests {
    @Test func maxClientsAnswersServerFull() async throws {
        let daemon = try await Daemon(config: "[limits]\nmax_clients = 2\n")
        let first = try await identifiedClient("one", port: daemon.port)
        let second = try await identifiedClient("two", port: daemon.port)
        let third = try Client(port: daemon.port, source: "127.0.0.3")
        #expect(await third.readLine() == "ERR server-full")
        #expect(await third.isClosedByServer())
        let line = try #require(await daemon.sessionLine("closed", of: third))
        #expect(field("reason", in: line) == "overload")
        // The ones already in are not disturbed; once one leaves there is room again.
        second.send("PING\n")
        #expect(await second.readLine() == "PONG")
        first.send("BYE\n")
        #expect(await first.readLine() == "BYE bye")
        #expect(await daemon.sessionLine("offline", of: first) != nil)
        _ = try await identifiedClient("three", port: daemon.port)
    }

    @Test func maxClientsPerAddressAnswersServerFull() async throws {
        let daemon = try await Daemon(config: "[limits]\nmax_clients_per_address = 2\n")
        let first = try await identifiedClient("a1", port: daemon.port)
        let second = try await identifiedClient("a2", port: daemon.port)
        let third = try Client(port: daemon.port)
        #expect(await third.readLine() == "ERR server-full")
        #expect(await third.isClosedByServer())
        let line = try #require(await daemon.sessionLine("closed", of: third))
        #expect(field("reason", in: line) == "overload")
        // Another address has its own count.
        let elsewhere = try Client(port: daemon.port, source: "127.0.0.2")
        elsewhere.send("HELLO b1\n")
        #expect(await elsewhere.readLine() == "OK b1 interval=10000 timeout=30000")
        for client in [first, second] {
            client.send("PING\n")
            #expect(await client.readLine() == "PONG")
        }
    }

    @Test func clientThatNeverReadsIsReapedForOverload() async throws {
        let daemon = try await Daemon()
        // A small receive buffer (no autotuning) so the daemon's replies pile up quickly.
        let greedy = try Client(port: daemon.port, receiveBuffer: 4096)
        greedy.send("HELLO greedy\n")
        #expect(await greedy.readLine() == "OK greedy interval=10000 timeout=30000")
        let pings = String(repeating: "PING\n", count: 1000)
        // Without reading a reply: the daemon's send buffer (~16 KiB) and ours fill, then unsent
        // bytes exceed max_line and the daemon gives up on us. The send fails once it has.
        for _ in 0..<200 {
            guard greedy.send(pings) else { break }
            if daemon.lines(containing: "reason=overload").isEmpty == false { break }
        }
        let line = try #require(await daemon.sessionLine("offline", of: greedy))
        #expect(field("reason", in: line) == "overload")
        #expect(field("client.id", in: line) == "greedy")
        // Others are still served.
        let polite = try await identifiedClient("polite", port: daemon.port)
        polite.send("PING\n")
        #expect(await polite.readLine() == "PONG")
    }
}
