// heartbeatctl against a running daemon: every command, in text for people (sorted, aligned columns)
// and in JSON; the socket and --json before or after the subcommand; exit status 1 with one message on
// every failure, 64 on a usage error. `token` is in HeartbeatctlTokenTests.swift.
import Foundation
import Glibc
import TestSupport
import Testing

/// The column where each header word starts, and whether every row's cells start there too.
private func isAligned(_ lines: [String], header: [String]) -> Bool {
    guard let head = lines.first else { return false }
    let starts = header.compactMap {
        head.range(of: $0).map { head.distance(from: head.startIndex, to: $0.lowerBound) }
    }
    guard starts.count == header.count else { return false }
    return lines.dropFirst().allSatisfy { line in
        let characters = Array(line)
        return starts.dropFirst().allSatisfy { start in
            start < characters.count && characters[start] != " " && characters[start - 1] == " "
                && characters[start - 2] == " "
        }
    }
}

@Suite struct HeartbeatctlTests {
    /// The grace is long enough that the held offline is still held when the second heartbeatctl runs,
    /// however slowly processes start on a loaded machine (2 s was not).
    @Test func status() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config("[events]\noffline_grace = \"30s\"\n"))
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let text = try await heartbeatctl("status", "--socket", place.socket)
        #expect(text.status == 0)
        #expect(text.error.isEmpty)
        #expect(text.lines.first == "heartbeatd     0.1.0, pid \(daemon.process.processIdentifier)")
        #expect(text.lines.contains("clients        1"))
        #expect(text.lines.contains("workers        1"))
        #expect(text.lines.contains("offline grace  30s"))
        #expect(text.lines.contains("config         \(daemon.configPath ?? "")"))
        let json = try await heartbeatctl("status", "--json", "--socket", place.socket)
        #expect(json.status == 0)
        #expect(json.lines.count == 1)
        let object = try jsonObject(json.output)
        #expect(object["clients"] as? Int == 1)
        #expect(object["offline_grace_ms"] as? Int == 30_000)
        client.closeSocket()
        #expect(await eventually { (try? await daemon.status(at: place.socket)["offline_held"] as? Int) == 1 })
        let held = try await heartbeatctl("status", "--socket", place.socket)
        #expect(held.lines.contains("offline grace  30s (1 offline held back)"))
    }

    /// The socket (and --json) before the subcommand, as `systemctl -H` and `redis-cli -s` take
    /// theirs, or after it: the same answer either way.
    @Test func globalOptionsGoBeforeOrAfterTheSubcommand() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let before = try await heartbeatctl("--socket", place.socket, "status")
        let after = try await heartbeatctl("status", "--socket", place.socket)
        #expect(before.status == 0, "\(before.error)")
        #expect(after.status == 0, "\(after.error)")
        for run in [before, after] {
            #expect(run.lines.first == "heartbeatd     0.1.0, pid \(daemon.process.processIdentifier)")
            #expect(run.lines.contains("clients        1"))
        }
        for arguments in [
            ["--socket", place.socket, "--json", "client", "dev-1"],
            ["--json", "client", "dev-1", "--socket", place.socket],
            ["client", "--socket", place.socket, "dev-1", "--json"],
        ] {
            let run = try await CtlProcess(arguments).finish()
            #expect(run.status == 0, "\(arguments): \(run.error)")
            #expect(try jsonObject(run.output)["id"] as? String == "dev-1", "\(arguments)")
        }
        let clients = try await heartbeatctl("--socket", place.socket, "clients", "--match", "dev-*")
        #expect(clients.lines.dropFirst().map { String($0.prefix(5)) } == ["dev-1"])
        let elsewhere = try await heartbeatctl("--socket", "/nonexistent/control.sock", "status")
        #expect(elsewhere.status == 1)
        #expect(elsewhere.error.hasPrefix("heartbeatctl: cannot connect to /nonexistent/control.sock: "))
        client.closeSocket()
    }

    @Test func clientsAreSortedAndAligned() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let b = try await identifiedClient("b-2", port: daemon.port)
        let a1 = try await identifiedClient("a-1", port: daemon.port, interval: 2_000)
        let a3 = try await identifiedClient("a-3", port: daemon.port)

        let text = try await heartbeatctl("clients", "--socket", place.socket)
        #expect(text.status == 0)
        #expect(text.lines.count == 4)
        #expect(text.lines.first?.hasPrefix("ID   PEER") == true)
        #expect(text.lines.dropFirst().map { String($0.prefix(3)) } == ["a-1", "a-3", "b-2"])
        #expect(isAligned(text.lines, header: ["ID", "PEER", "CONNECTED SINCE", "LAST HEARD", "INTERVAL", "WORKER"]))
        #expect(text.lines[1].contains("127.0.0.1:\(a1.localPort)"))
        #expect(text.lines[1].contains(" 2s "))
        #expect(text.lines[2].contains(" 10s "))

        let json = try await heartbeatctl("clients", "--json", "--socket", place.socket)
        let objects = try json.lines.map(jsonObject)
        #expect(objects.map { $0["id"] as? String } == ["a-1", "a-3", "b-2"])
        #expect(objects.map { $0["peer"] as? String } == [a1, a3, b].map { "127.0.0.1:\($0.localPort)" })
        #expect(objects.map { $0["interval_ms"] as? Int } == [2_000, 10_000, 10_000])
        #expect(
            objects.allSatisfy { ($0["connected_at"] as? String)?.hasSuffix("Z") == true && $0["worker"] as? Int == 0 })

        let matched = try await heartbeatctl("clients", "--json", "--match", "a-*", "--socket", place.socket)
        #expect(try matched.lines.map(jsonObject).map { $0["id"] as? String } == ["a-1", "a-3"])
        let none = try await heartbeatctl("clients", "--match", "zz*", "--socket", place.socket)
        #expect(none.status == 0)
        #expect(none.output == "no connected client matches zz*\n")
        let noneJSON = try await heartbeatctl("clients", "--json", "--match", "zz*", "--socket", place.socket)
        #expect(noneJSON.status == 0)
        #expect(noneJSON.output.isEmpty)
        let badPattern = try await heartbeatctl("clients", "--match", "[a", "--socket", place.socket)
        #expect(badPattern.status == 1)
        #expect(badPattern.error == "heartbeatctl: pattern \"[a\" has a [ without its ]\n")
    }

    @Test func oneClientInDetail() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let client = try await identifiedClient("dev-1", port: daemon.port, interval: 3_000)
        let text = try await heartbeatctl("client", "dev-1", "--socket", place.socket)
        #expect(text.status == 0)
        #expect(text.lines.first == "id               dev-1")
        #expect(text.lines.contains("peer             127.0.0.1:\(client.localPort)"))
        #expect(text.lines.contains("interval         3s"))
        #expect(text.lines.contains("timeout          9s"))
        let json = try jsonObject(try await heartbeatctl("client", "dev-1", "--json", "--socket", place.socket).output)
        #expect(json["ok"] as? Bool == true)
        #expect(json["id"] as? String == "dev-1")
        #expect(json["timeout_ms"] as? Int == 9_000)

        let missing = try await heartbeatctl("client", "dev-2", "--socket", place.socket)
        #expect(missing.status == 1)
        #expect(missing.output.isEmpty)
        #expect(missing.error == "heartbeatctl: no client dev-2 is connected\n")
    }

    @Test func kickEndsTheSessionWithByeKicked() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let kicked = try await heartbeatctl("kick", "dev-1", "--reason", "firmware rollout", "--socket", place.socket)
        #expect(kicked.status == 0)
        #expect(kicked.output == "kicked dev-1 (peer 127.0.0.1:\(client.localPort), worker 0)\n")
        #expect(await client.readLine() == "BYE kicked")
        #expect(await client.isClosedByServer())
        let line = try #require(await daemon.sessionLine("offline", of: client))
        #expect(field("reason", in: line) == "kicked")
        #expect(line.contains("note=\"firmware rollout\""))

        let again = try await heartbeatctl("kick", "dev-1", "--socket", place.socket)
        #expect(again.status == 1)
        #expect(again.error == "heartbeatctl: no client dev-1 is connected\n")

        let other = try await identifiedClient("dev-2", port: daemon.port)
        let json = try await heartbeatctl("kick", "dev-2", "--json", "--socket", place.socket)
        #expect(try jsonObject(json.output)["peer"] as? String == "127.0.0.1:\(other.localPort)")
        #expect(await other.readLine() == "BYE kicked")
    }

    @Test func reloadWaitsForTheOutcome() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        try daemon.rewriteConfig(place.config("[events]\noffline_grace = \"3s\"\n"))
        let applied = try await heartbeatctl("reload", "--socket", place.socket)
        #expect(applied.status == 0)
        #expect(applied.output == "configuration reloaded\n")
        #expect(try await daemon.status(at: place.socket)["offline_grace_ms"] as? Int == 3_000)

        try daemon.rewriteConfig(place.config("workers = 2\n"))
        let restart = try await heartbeatctl("reload", "--json", "--socket", place.socket)
        #expect(restart.status == 0)
        let report = try jsonObject(restart.output)
        #expect(report["outcome"] as? String == "applied")
        #expect(report["restart_required"] as? [String] == ["workers"])
        #expect((report["message"] as? String)?.contains("workers changed and take a restart") == true)

        try daemon.rewriteConfig(place.config("[limits]\nmax_line = 1\n"))
        let failed = try await heartbeatctl("reload", "--socket", place.socket)
        #expect(failed.status == 1)
        #expect(failed.output.isEmpty)
        #expect(failed.error.hasPrefix("heartbeatctl: reload failed, the running configuration stays: "))
        #expect(failed.error.contains("limits.max_line"))
        #expect(try await daemon.status(at: place.socket)["offline_grace_ms"] as? Int == 0)
    }

    @Test func watchPrintsEventsUntilTheDaemonStops() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let text = try CtlProcess(["watch", "--socket", place.socket])
        let json = try CtlProcess(["watch", "--json", "--socket", place.socket])
        #expect(await eventually { (try? await daemon.status(at: place.socket)["watchers"] as? Int) == 2 })
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let peer = "127.0.0.1:\(client.localPort)"
        client.closeSocket()

        #expect(await eventually { text.lines.count == 2 && json.lines.count == 2 })
        let online = try #require(text.lines.first)
        #expect(online.hasSuffix("  #1  online    dev-1  \(peer)"))
        #expect(online.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  #1"#, options: .regularExpression) != nil)
        let offline = try #require(text.lines.last)
        #expect(offline.contains("  #2  offline   dev-1  \(peer)  eof after "))
        let events = try json.lines.map(jsonObject)
        #expect(events.map { $0["event"] as? String } == ["online", "offline"])
        #expect(events.map { $0["seq"] as? Int } == [1, 2])

        daemon.signal(SIGTERM)
        for watch in [text, json] {
            let run = try await watch.finish()
            #expect(run.status == 1)
            #expect(run.error == "heartbeatctl: heartbeatd is stopping\n")
        }
    }

    @Test func failuresAreOneLineAndStatusOne() async throws {
        let gone = try await heartbeatctl("status", "--socket", "/nonexistent/control.sock")
        #expect(gone.status == 1)
        #expect(gone.output.isEmpty)
        #expect(
            gone.error
                == "heartbeatctl: cannot connect to /nonexistent/control.sock: No such file or directory; is heartbeatd running, with [control] socket = \"/nonexistent/control.sock\"?\n"
        )
        let badID = try await heartbeatctl("client", "a/b", "--socket", "/nonexistent/control.sock")
        #expect(badID.status == 1)
        #expect(badID.error == "heartbeatctl: \"a/b\" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)\n")
        let newline = try await heartbeatctl(
            "kick", "dev-1", "--reason", "two\nlines", "--socket", "/nonexistent/control.sock")
        #expect(newline.status == 1)
        #expect(newline.error == "heartbeatctl: control byte 0x0a in the request\n")
    }

    /// A usage error is the argument parser's EX_USAGE (64), with its message and a usage line,
    /// apart from the 1 of a command that ran and failed.
    @Test(arguments: [
        ["frobnicate"],
        ["status", "--bogus"],
        ["client"],
        ["status", "--socket"],
        ["kick"],
    ])
    func usageErrorsExitWith64(arguments: [String]) async throws {
        let run = try await CtlProcess(arguments).finish()
        #expect(run.status == 64, "\(arguments): \(run.error)")
        #expect(run.output.isEmpty)
        #expect(run.error.hasPrefix("Error: "), "\(arguments): \(run.error)")
        #expect(run.error.contains("Usage: heartbeatctl"), "\(arguments): \(run.error)")
    }

    @Test(.enabled(if: isRoot, "needs root to run as another user"))
    func anotherUserCannotConnect() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let binary = try await heartbeatctlForAnyone()
        let refused = try await heartbeatctl("status", "--socket", place.socket, launcher: asNobody(), binary: binary)
        #expect(refused.status == 1)
        #expect(
            refused.error
                == "heartbeatctl: cannot connect to \(place.socket): Permission denied; run as root, as heartbeatd's user or as a member of its [control] group\n"
        )
        #expect(daemon.isRunning)
    }
}
