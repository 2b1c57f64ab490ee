import Foundation
import Glibc
// Signals against the real daemon: SIGTERM drains (BYE shutdown, wait for clients up to
// drain_timeout, exit 0) and SIGHUP reloads what can change live, keeping the old config when the
// new one is bad.
import TestSupport
import Testing

@Suite struct SignalTests {
    @Test func sigtermDrainsAndExitsOnceClientsLeave() async throws {
        let daemon = try await Daemon(config: "drain_timeout = \"60s\"\n")
        let clients = [
            try await identifiedClient("stay-1", port: daemon.port),
            try await identifiedClient("stay-2", port: daemon.port),
        ]
        daemon.signal(SIGTERM)
        for client in clients {
            #expect(await client.readLine() == "BYE shutdown")
            // The daemon half-closed: the client reads EOF and closes its end.
            #expect(await client.isClosedByServer())
            client.closeSocket()
        }
        // Long before the 60 s drain timeout.
        #expect(await daemon.waitForExit(within: 20) == 0)
        // The log is read from a pipe by another thread: its last lines may land after the exit is seen.
        let bothLogged = await eventually { daemon.sessionCount("offline", reason: "shutdown") == 2 }
        #expect(bothLogged, "\(daemon.lines(containing: "event=offline"))")
    }

    @Test func sigtermWaitsForAClientThatStaysUntilTheDrainTimeout() async throws {
        // Long enough that the checks below, polled on a loaded machine, happen while it drains.
        let daemon = try await Daemon(config: "drain_timeout = \"4s\"\n")
        let stubborn = try await identifiedClient("stubborn", port: daemon.port)
        let signalled = Date()
        daemon.signal(SIGTERM)
        #expect(await stubborn.readLine() == "BYE shutdown")
        // Draining: no new connection is accepted.
        let refused = await eventually { (try? Client(port: daemon.port)) == nil }
        #expect(refused)
        #expect(daemon.isRunning)
        #expect(await daemon.waitForExit(within: 20) == 0)
        // Not before the drain timeout: the client never closed.
        #expect(Date().timeIntervalSince(signalled) >= 3.9)
        let line = try #require(await daemon.sessionLine("offline", of: stubborn))
        #expect(field("reason", in: line) == "shutdown")
        withExtendedLifetime(stubborn) {}
    }

    @Test func sighupAppliesAGoodFile() async throws {
        let daemon = try await Daemon(config: "[heartbeat]\ninterval = \"10s\"\n")
        let old = try Client(port: daemon.port)
        old.send("HELLO before\n")
        #expect(await old.readLine() == "OK before interval=10000 timeout=30000")
        try daemon.rewriteConfig("[heartbeat]\ninterval = \"20s\"\ntimeout_factor = 2\n")
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)
        let new = try Client(port: daemon.port)
        new.send("HELLO after\n")
        #expect(await new.readLine() == "OK after interval=20000 timeout=40000")
        // The session that was already there keeps going.
        old.send("PING old\n")
        #expect(await old.readLine() == "PONG old")
    }

    @Test func sighupKeepsTheRunningConfigWhenTheFileIsBad() async throws {
        let daemon = try await Daemon(config: "[heartbeat]\ninterval = \"10s\"\n")
        try daemon.rewriteConfig("[heartbeat]\ninterval = \"20s\"\nnonsense = 1\n")
        daemon.signal(SIGHUP)
        let line = try #require(await daemon.waitForLog("reload failed"))
        #expect(line.contains("heartbeat.nonsense"), "\(line)")
        #expect(daemon.isRunning)
        let client = try Client(port: daemon.port)
        client.send("HELLO still-old\n")
        #expect(await client.readLine() == "OK still-old interval=10000 timeout=30000")
    }

    @Test func sighupLogsThatAListenChangeNeedsARestart() async throws {
        // No --listen flag here, so the file's listen is the one in force.
        let daemon = try await Daemon(config: "listen = [\"127.0.0.1:0\"]\n", arguments: [])
        try daemon.rewriteConfig("listen = [\"127.0.0.2:0\"]\n[heartbeat]\ninterval = \"15s\"\n")
        daemon.signal(SIGHUP)
        let warning = try #require(await daemon.waitForLog("reload:", "listen"))
        #expect(warning.contains("restart"), "\(warning)")
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)
        // Still on the old address, with the rest of the new file applied.
        let client = try Client(port: daemon.port)
        client.send("HELLO moved\n")
        #expect(await client.readLine() == "OK moved interval=15000 timeout=45000")
    }
}
