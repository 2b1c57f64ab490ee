import Foundation
import Glibc
// `heartbeatctl upgrade` against the real binary: with clients beating, the daemon execs its binary
// in place (same PID) and nobody notices — no disconnect, every heartbeat answered, the same
// connected-since in `clients`, one `restarted` event and no offline/online in `watch`, seq going on.
// A new binary that fails its check leaves the old process serving and says why.
import TestSupport
import Testing

@Suite struct UpgradeTests {
    /// A copy of heartbeatd the test may replace (install(1) copies it in a child, see heartbeatctlForAnyone).
    private func binaryCopy() async throws -> String {
        let path = temporaryDirectory().appendingPathComponent("heartbeatd").path
        let install = ChildProcess()
        install.executableURL = URL(fileURLWithPath: "/usr/bin/install")
        install.arguments = ["-m", "0755", heartbeatdBinary(), path]
        try install.run()
        #expect(await eventually(within: 20) { !install.isRunning })
        install.waitUntilExit()
        return path
    }

    /// `heartbeatctl --json clients` as id → connected_at_ms.
    private func connectedSince(_ socket: String) async throws -> [String: Int] {
        let run = try await heartbeatctl("--socket", socket, "--json", "clients")
        #expect(run.status == 0, "\(run.error)")
        var found: [String: Int] = [:]
        for line in run.lines {
            let object = try jsonObject(line)
            if let id = object["id"] as? String { found[id] = object["connected_at_ms"] as? Int }
        }
        return found
    }

    /// How many epolls process `pid` holds open.
    private func epolls(of pid: Int32) -> Int {
        let folder = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\($0)")) == "anon_inode:[eventpoll]"
        }.count
    }

    @Test func upgradeKeepsEveryClientAndSaysNothing() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config(), binary: try await binaryCopy())
        let watch = try CtlProcess(["--socket", place.socket, "--json", "watch", "--reconnect"])
        var watching = false
        for _ in 0..<200 where !watching {
            let status = try await heartbeatctl("--socket", place.socket, "--json", "status")
            watching = (try jsonObject(status.output)["watchers"] as? Int) == 1
            if !watching { try await Task.sleep(for: .milliseconds(25)) }
        }
        var clients: [Client] = []
        for number in 1...3 { clients.append(try await identifiedClient("up-\(number)", port: daemon.port)) }
        #expect(await eventually { watch.lines.count == 3 }, "\(watch.output) \(watch.error)")
        let before = try await connectedSince(place.socket)
        #expect(before.count == 3)
        let epollsBefore = epolls(of: daemon.process.processIdentifier)

        // Beat through the upgrade: every PING gets its PONG, nobody is closed.
        let upgrading = try CtlProcess(["--socket", place.socket, "upgrade"])
        var rounds = 0
        var answered = 0
        while rounds < 10 || (upgrading.process.isRunning && rounds < 1_000) {
            for client in clients {
                if client.send("PING \(rounds)\n"), await client.readLine() == "PONG \(rounds)" { answered += 1 }
            }
            rounds += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        let upgrade = try await upgrading.finish()
        #expect(upgrade.status == 0, "\(upgrade.error) \(daemon.lines(containing: ""))")
        #expect(upgrade.output.contains("(same process)"), "\(upgrade.output)")
        #expect(answered == rounds * clients.count, "every heartbeat answered, nobody disconnected")
        #expect(daemon.process.isRunning)
        let took = await daemon.waitForLog("took over 3 sessions")
        // An exec keeps the old fork's instant: the upgrade's timing starts at the exec.
        #expect(took?.contains(" ms from exec: runtime ") == true, "\(daemon.log)")
        // The predecessor's epolls came across the exec, still holding the sessions; the successor closes them.
        #expect(epollsBefore > 0)
        #expect(await eventually { epolls(of: daemon.process.processIdentifier) == epollsBefore })
        // connected_at is the wall clock's view of a monotonic instant, each time rounded to the millisecond.
        let after = try await connectedSince(place.socket)
        #expect(after.keys.sorted() == before.keys.sorted(), "the same sessions")
        #expect(before.allSatisfy { id, since in after[id].map { abs($0 - since) <= 2 } == true }, "\(before) \(after)")

        // The watcher saw the three onlines, then one `restarted`: no offline, no second online, seq on.
        #expect(await eventually { watch.lines.count >= 4 })
        let events = try watch.lines.map(jsonObject)
        #expect(events.map { $0["event"] as? String } == ["online", "online", "online", "restarted"])
        #expect(events.map { $0["seq"] as? Int } == [1, 2, 3, 4])
        #expect(events.last?["restored"] as? Int == 3)
        // And what happens next still counts on from there.
        clients[0].closeSocket()
        #expect(await eventually { watch.lines.count == 5 })
        #expect(try jsonObject(watch.lines[4])["seq"] as? Int == 5)
        watch.stop()
    }

    /// A TLS session cannot be handed over (its keys live in OpenSSL): the upgrade tells it `BYE restart`
    /// (paced over bye_window) and closes it, while a plain session beside it is carried over and hears
    /// nothing. The TLS listener itself is handed over: a new TLS client reaches the same port after it.
    @Test func upgradeTellsTLSSessionsByeRestartAndKeepsPlainOnes() async throws {
        let place = ControlPlace()
        let certificates = TestCertificates.shared
        let config = place.config(
            certificates.tlsSection()
                + """
                [restart]
                bye_window = "200ms"
                """)
        let daemon = try await Daemon(config: config, binary: try await binaryCopy())
        try #require(daemon.tlsPort != 0)
        let plain = try await identifiedClient("plain-1", port: daemon.port)
        let secure = try tlsClient(daemon)
        #expect(secure.send("HELLO tls-1\n"))
        #expect(secure.readLine()?.hasPrefix("OK tls-1 ") == true)

        let upgrade = try await heartbeatctl("--socket", place.socket, "upgrade")
        #expect(upgrade.status == 0, "\(upgrade.error) \(daemon.lines(containing: ""))")
        #expect(secure.readLine() == "BYE restart")
        #expect(secure.isClosedByServer())
        #expect(await daemon.waitForLog("event=offline", "reason=restart", "client.id=tls-1") != nil)
        #expect(await daemon.waitForLog("took over 1 sessions") != nil)
        #expect(plain.send("PING after\n"))
        #expect(await plain.readLine() == "PONG after", "the plain session heard nothing and is served")

        let again = try tlsClient(daemon)
        #expect(again.send("HELLO tls-1\n"))
        #expect(again.readLine()?.hasPrefix("OK tls-1 ") == true)
    }

    @Test(arguments: ["script", "not-executable"])
    func aBadBinaryLeavesTheOldProcessServing(kind: String) async throws {
        let place = ControlPlace()
        let binary = try await binaryCopy()
        let daemon = try await Daemon(config: place.config(), binary: binary)
        let client = try await identifiedClient("stay-1", port: daemon.port)
        unlink(binary)
        if kind == "script" {
            try "#!/bin/sh\nexit 1\n".write(toFile: binary, atomically: false, encoding: .utf8)
            chmod(binary, 0o755)
        } else {
            try "not a program\n".write(toFile: binary, atomically: false, encoding: .utf8)
            chmod(binary, 0o644)
        }
        let upgrade = try await heartbeatctl("--socket", place.socket, "upgrade")
        #expect(upgrade.status == 1)
        #expect(upgrade.error.contains("upgrade failed, the running process serves on"), "\(upgrade.error)")
        #expect(await daemon.waitForLog("upgrade refused") != nil)
        #expect(client.send("PING x\n"))
        #expect(await client.readLine() == "PONG x")
        #expect(daemon.process.isRunning)
    }
}
