// Takeover (DESIGN §3): a HELLO with an id that has a live session ends the old one with
// `BYE replaced` at once; the newest wins, within one worker and across workers.
import TestSupport
import Testing

@Suite struct TakeoverTests {
    @Test func secondHelloWithTheSameIdReplacesTheFirst() async throws {
        let daemon = try await Daemon()
        let old = try await identifiedClient("dup-1", port: daemon.port, interval: 2000)
        let new = try Client(port: daemon.port)
        new.send("HELLO dup-1 interval=3000\n")
        #expect(await new.readLine() == "OK dup-1 interval=3000 timeout=9000")
        #expect(await old.readLine() == "BYE replaced")
        #expect(await old.isClosedByServer())
        let line = try #require(await daemon.sessionLine("replaced", of: old))
        #expect(field("reason", in: line) == "replaced")
        #expect(field("client.id", in: line) == "dup-1")
        // The id's new session keeps working, and is not the one the registry let go of.
        new.send("PING after\n")
        #expect(await new.readLine() == "PONG after")
        // A third takeover still finds the current owner.
        let third = try await identifiedClient("dup-1", port: daemon.port)
        #expect(await new.readLine() == "BYE replaced")
        third.send("PING 3\n")
        #expect(await third.readLine() == "PONG 3")
    }

    @Test func takeoverAcrossWorkers() async throws {
        let daemon = try await Daemon(config: "workers = 2\n")
        #expect(daemon.lines.first { $0.contains("with 2 worker(s)") } != nil)
        var current = try await identifiedClient("roamer", port: daemon.port)
        var currentWorker = try #require(
            await daemon.sessionLine("online", of: current).flatMap { field("worker", in: $0) })
        // SO_REUSEPORT spreads connections by their addresses; keep taking over until the new session
        // lands on the other worker than the one that owns the id (each try is itself a takeover).
        var crossed = false
        for _ in 0..<40 {
            let next = try await identifiedClient("roamer", port: daemon.port)
            #expect(await current.readLine() == "BYE replaced")
            #expect(await current.isClosedByServer())
            let nextWorker = try #require(
                await daemon.sessionLine("online", of: next).flatMap { field("worker", in: $0) })
            let replaced = try #require(await daemon.sessionLine("replaced", of: current))
            #expect(field("worker", in: replaced) == currentWorker)
            if nextWorker != currentWorker { crossed = true }
            current = next
            currentWorker = nextWorker
            if crossed { break }
        }
        #expect(crossed, "40 connections all landed on worker \(currentWorker)")
        current.send("PING roaming\n")
        #expect(await current.readLine() == "PONG roaming")
        // The worker that lost the id did not take it from the registry: one more takeover reaches the owner.
        let last = try await identifiedClient("roamer", port: daemon.port)
        #expect(await current.readLine() == "BYE replaced")
        last.send("PING last\n")
        #expect(await last.readLine() == "PONG last")
    }
}
