import Foundation
// The wire protocol as a client sees it (DESIGN §3, §8), against the real daemon over loopback:
// every reply, every error code, and how lines may be split or joined on the wire.
import TestSupport
import Testing

@Suite struct ProtocolTests {
    @Test func helloPingAndUnknownCommand() async throws {
        let daemon = try await Daemon()
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1 interval=2000\n")
        #expect(await client.readLine() == "OK dev-1 interval=2000 timeout=6000")
        client.send("PING abc\nPING\nSTATUS now\n")
        #expect(await client.readLine() == "PONG abc")
        #expect(await client.readLine() == "PONG")
        #expect(await client.readLine() == "ERR unknown-command STATUS")
        // An unknown command does not end the session.
        client.send("PING still-here\n")
        #expect(await client.readLine() == "PONG still-here")
        client.send("BYE\n")
        #expect(await client.readLine() == "BYE bye")
        #expect(await client.isClosedByServer())
        let line = try #require(await daemon.sessionLine("offline", of: client))
        #expect(field("reason", in: line) == "bye")
        #expect(field("client.id", in: line) == "dev-1")
    }

    @Test func intervalIsClampedOrDefaulted() async throws {
        let daemon = try await Daemon(
            config: """
                [heartbeat]
                interval = "7s"
                interval_min = "2s"
                interval_max = "60s"
                timeout_factor = 4
                """)
        let cases: [(hello: String, ok: String)] = [
            ("HELLO none", "OK none interval=7000 timeout=28000"),
            ("HELLO low interval=10", "OK low interval=2000 timeout=8000"),
            ("HELLO high interval=9999999999", "OK high interval=60000 timeout=240000"),
            ("HELLO inside interval=5000", "OK inside interval=5000 timeout=20000"),
        ]
        for (hello, ok) in cases {
            let client = try Client(port: daemon.port)
            client.send(hello + "\n")
            #expect(await client.readLine() == ok, "\(hello)")
        }
    }

    @Test func noPongWhenPongIsOff() async throws {
        let daemon = try await Daemon(config: "[heartbeat]\npong = false\n")
        let client = try await identifiedClient("quiet", port: daemon.port)
        client.send("PING one\nPING\nNOPE\n")
        // The PINGs are answered by nothing, so the next line is the answer to NOPE.
        #expect(await client.readLine() == "ERR unknown-command NOPE")
    }

    @Test(arguments: [
        ("PING\n", "the first line is not HELLO"),
        ("HELLO bad/id\n", "an id with a byte outside the id alphabet"),
        ("HELLO\n", "a HELLO without an id"),
        ("HELLO \(String(repeating: "x", count: 65))\n", "an id longer than 64 bytes"),
        ("HELLO dev interval=fast\n", "an interval that is not a number"),
        ("HELLO dev colour=red\n", "an unknown option"),
    ])
    func badHello(line: String, what: String) async throws {
        let daemon = try await Daemon()
        let client = try Client(port: daemon.port)
        client.send(line)
        let reply = try #require(await client.readLine(), "\(what)")
        #expect(reply.hasPrefix("ERR bad-hello"), "\(what): \(reply)")
        #expect(await client.isClosedByServer())
        let logged = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: logged) == "protocol")
    }

    @Test func secondHelloIsBadHello() async throws {
        let daemon = try await Daemon()
        let client = try await identifiedClient("twice", port: daemon.port)
        client.send("HELLO twice\n")
        #expect(await client.readLine() == "ERR bad-hello already identified")
        #expect(await client.isClosedByServer())
        let logged = try #require(await daemon.sessionLine("offline", of: client))
        #expect(field("reason", in: logged) == "protocol")
    }

    @Test func lineTooLong() async throws {
        let daemon = try await Daemon(config: "[limits]\nmax_line = 64\n")
        // 63 bytes and "\n" is exactly max_line: accepted.
        let fits = try await identifiedClient("long", port: daemon.port)
        let verb = String(repeating: "V", count: 63)
        fits.send(verb + "\n")
        #expect(await fits.readLine() == "ERR unknown-command " + String(repeating: "V", count: 32))
        // 64 bytes without "\n" already exceed it.
        fits.send(String(repeating: "W", count: 64) + "\n")
        #expect(await fits.readLine() == "ERR line-too-long limit 64 bytes")
        #expect(await fits.isClosedByServer())
        let logged = try #require(await daemon.sessionLine("offline", of: fits))
        #expect(field("reason", in: logged) == "protocol")
    }

    @Test func lineTooLongSplitOverSeveralWrites() async throws {
        let daemon = try await Daemon()
        let client = try await identifiedClient("split-long", port: daemon.port)
        client.send(String(repeating: "a", count: 100))
        try await Task.sleep(nanoseconds: 50_000_000)
        client.send(String(repeating: "b", count: 100))
        // 200 bytes of an unfinished line are still within max_line (256): no answer yet.
        #expect(await client.readLine(within: 0.3) == nil)
        client.send(String(repeating: "c", count: 100))
        #expect(await client.readLine() == "ERR line-too-long limit 256 bytes")
        #expect(await client.isClosedByServer())
    }

    @Test(arguments: [
        ([0x50, 0x49, 0x4E, 0x47, 0x20, 0x00, 0x0A] as [UInt8], "ERR bad-line byte 0x00 at column 6"),
        ([0x50, 0x49, 0x4E, 0x47, 0x20, 0x80, 0x0A], "ERR bad-line byte 0x80 at column 6"),
        ([0x50, 0x49, 0x4E, 0x47, 0x09, 0x61, 0x0A], "ERR bad-line byte 0x09 at column 5"),
        ([0x50, 0x49, 0x4E, 0x47, 0x0D, 0x61, 0x0A], "ERR bad-line byte 0x0D at column 5"),
    ])
    func badLine(bytes: [UInt8], answer: String) async throws {
        let daemon = try await Daemon()
        let client = try await identifiedClient("bytes", port: daemon.port)
        client.send(bytes: bytes)
        #expect(await client.readLine() == answer)
        #expect(await client.isClosedByServer())
        let logged = try #require(await daemon.sessionLine("offline", of: client))
        #expect(field("reason", in: logged) == "protocol")
    }

    @Test func helloTimeout() async throws {
        let daemon = try await Daemon(config: "[heartbeat]\nhello_timeout = \"300ms\"\n")
        let silent = try Client(port: daemon.port)
        #expect(await silent.readLine() == "ERR hello-timeout")
        #expect(await silent.isClosedByServer())
        let logged = try #require(await daemon.sessionLine("closed", of: silent))
        #expect(field("reason", in: logged) == "hello-timeout")
        // A client that says HELLO in time is not affected by it.
        let prompt = try await identifiedClient("prompt", port: daemon.port)
        try await Task.sleep(nanoseconds: 600_000_000)
        prompt.send("PING\n")
        #expect(await prompt.readLine() == "PONG")
    }

    @Test func partialLinesAcrossWritesAndManyLinesInOne() async throws {
        let daemon = try await Daemon()
        let client = try Client(port: daemon.port)
        for piece in ["HEL", "LO pie", "ces interval=3000", "\nPI", "NG t", "ag\n"] {
            client.send(piece)
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        #expect(await client.readLine() == "OK pieces interval=3000 timeout=9000")
        #expect(await client.readLine() == "PONG tag")
        client.send((1...50).map { "PING \($0)\n" }.joined())
        for number in 1...50 {
            #expect(await client.readLine() == "PONG \(number)")
        }
    }

    @Test func crlfLineEndsAndExtraSpacesAreAccepted() async throws {
        let daemon = try await Daemon()
        let client = try Client(port: daemon.port)
        client.send("HELLO  crlf-1   interval=4000\r\nPING   x \r\n\r\nBYE\r\n")
        #expect(await client.readLine() == "OK crlf-1 interval=4000 timeout=12000")
        #expect(await client.readLine() == "PONG x")
        #expect(await client.readLine() == "BYE bye")
        #expect(await client.isClosedByServer())
    }

    @Test(arguments: [
        ("HELLO ender\nPING x\nBYE\n", ["OK ender interval=10000 timeout=30000", "PONG x", "BYE bye"]),
        (
            "HELLO ender\nPING x\nPING \u{01}\n",
            ["OK ender interval=10000 timeout=30000", "PONG x", "ERR bad-line byte 0x01 at column 6"]
        ),
        (
            "HELLO ender\nPING x\nHELLO again\n",
            ["OK ender interval=10000 timeout=30000", "PONG x", "ERR bad-hello already identified"]
        ),
    ])
    func repliesBeforeAnEndingLineAreSentAndNotLeaked(batch: String, answers: [String]) async throws {
        let daemon = try await Daemon()
        let ender = try Client(port: daemon.port)
        // One write, so the daemon handles all of it in one read: the replies owed before the last
        // line must still reach this client, and only this one.
        ender.send(batch)
        for answer in answers {
            #expect(await ender.readLine() == answer)
        }
        #expect(await ender.isClosedByServer())
        let next = try Client(port: daemon.port)
        next.send("HELLO next\n")
        #expect(await next.readLine() == "OK next interval=10000 timeout=30000")
        next.send("PING n\n")
        #expect(await next.readLine() == "PONG n")
    }

    @Test func resetPeerDoesNotDisturbOthers() async throws {
        let daemon = try await Daemon()
        let steady = try await identifiedClient("steady", port: daemon.port)
        for round in 0..<5 {
            let rude = try await identifiedClient("rude-\(round)", port: daemon.port)
            // Data the daemon will answer, then RST: the answer goes to a reset peer (EPIPE/ECONNRESET).
            rude.send("PING a\nPING b\n")
            rude.reset()
            let logged = try #require(await daemon.sessionLine("offline", of: rude))
            #expect(field("reason", in: logged) == "reset")
            steady.send("PING \(round)\n")
            #expect(await steady.readLine() == "PONG \(round)")
        }
        #expect(daemon.isRunning)
    }
}
