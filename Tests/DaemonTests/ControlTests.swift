import Foundation
import Glibc
// The control socket over a real unix socket: the file it makes (mode, group, directory, a stale one
// replaced, a live one left alone), the JSON lines it answers, bad and oversized requests, and who it
// lets in (SO_PEERCRED), each against the running daemon.
import TestSupport
import Testing

@Suite struct ControlTests {
    @Test func statusAnswersOneJSONLine() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let client = try await identifiedClient("dev-1", port: daemon.port)
        let status = try await daemon.status(at: place.socket)
        #expect(status["ok"] as? Bool == true)
        #expect(status["version"] as? String == "0.1.0")
        #expect(status["pid"] as? Int == Int(daemon.process.processIdentifier))
        #expect(status["workers"] as? Int == 1)
        #expect(status["clients"] as? Int == 1)
        #expect(status["config_file"] as? String == daemon.configPath)
        let reaps = try #require(status["reaps"] as? [String: Int])
        #expect(
            reaps.keys.sorted() == [
                "bye", "eof", "handshake-failed", "handshake-timeout", "hello-timeout", "kicked", "overload",
                "protocol", "replaced", "reset", "restart", "revoked", "shutdown", "timeout",
            ])
        client.send("BYE\n")
        #expect(await client.readLine() == "BYE bye")
        #expect(
            await eventually { (try? await daemon.status(at: place.socket)["reaps"] as? [String: Int])?["bye"] == 1 })
    }

    @Test func badRequestsAreAnsweredAndTheConnectionStaysUsable() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let control = try ControlSocket(path: place.socket)
        let unknown = try await control.ask("bogus")
        #expect(unknown["ok"] as? Bool == false)
        #expect(unknown["error"] as? String == "unknown-command")
        let missing = try await control.ask("client")
        #expect(missing["error"] as? String == "bad-request")
        #expect(missing["message"] as? String == "client needs a client id")
        let badID = try await control.ask("kick dev/1")
        #expect(badID["error"] as? String == "bad-request")
        let notConnected = try await control.ask("client dev-9")
        #expect(notConnected["error"] as? String == "not-connected")
        #expect(notConnected["message"] as? String == "no client dev-9 is connected")
        // Two requests in one write are answered in order.
        control.send("status\r\nclients --match x*\n")
        #expect(try await control.readObject()["version"] as? String == "0.1.0")
        #expect(try await control.readObject()["count"] as? Int == 0)
        #expect(try await control.ask("status")["ok"] as? Bool == true)
        #expect(daemon.isRunning)
    }

    @Test func anOversizedRequestIsAnsweredThenClosed() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let control = try ControlSocket(path: place.socket)
        control.send(String(repeating: "x", count: 5_000))
        let answer = try await control.readObject()
        #expect(answer["error"] as? String == "request-too-long")
        #expect(await control.isClosedByDaemon())
        #expect(try await daemon.status(at: place.socket)["ok"] as? Bool == true)
    }

    @Test func aClientThatHalfClosesStillGetsItsAnswer() async throws {
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config())
        let control = try ControlSocket(path: place.socket)
        control.send("status\n")
        shutdown(control.fd, Int32(SHUT_WR))
        #expect(try await control.readObject()["ok"] as? Bool == true)
        #expect(await control.isClosedByDaemon())
        #expect(daemon.isRunning)
    }

    @Test func theSocketFileIsMadeInAMissingDirectoryWithMode0660() async throws {
        let directory = temporaryDirectory().appendingPathComponent("run/heartbeatd").path
        let socket = directory + "/control.sock"
        let daemon = try await Daemon(config: "[control]\nsocket = \"\(socket)\"\n")
        var status = stat()
        #expect(lstat(socket, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o660)
        #expect(try await daemon.status(at: socket)["ok"] as? Bool == true)
        // A stopped daemon removes its socket file.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(access(socket, F_OK) != 0)
    }

    @Test func aStaleSocketIsReplacedButALiveOneIsLeftAlone() async throws {
        let place = ControlPlace()
        let first = try await Daemon(config: place.config())
        let second = try await Daemon(config: place.config())
        #expect(second.lines(containing: "cannot make the control socket", "another process is serving it").count == 1)
        #expect(try await first.status(at: place.socket)["pid"] as? Int == Int(first.process.processIdentifier))
        // SIGKILL leaves the file behind, with nobody answering on it.
        first.stop()
        second.stop()
        #expect(access(place.socket, F_OK) == 0)
        let third = try await Daemon(config: place.config())
        #expect(try await third.status(at: place.socket)["pid"] as? Int == Int(third.process.processIdentifier))
    }

    @Test func aPathThatIsNoSocketIsNotTouched() async throws {
        let place = ControlPlace()
        try "precious".write(toFile: place.socket, atomically: true, encoding: .utf8)
        let daemon = try await Daemon(config: place.config())
        #expect(daemon.lines(containing: "the path exists and is not a socket").count == 1)
        #expect(try String(contentsOfFile: place.socket, encoding: .utf8) == "precious")
        // The daemon serves clients all the same.
        _ = try await identifiedClient("dev-1", port: daemon.port)
    }

    @Test func anEmptySocketPathMeansNoControlSocket() async throws {
        let daemon = try await Daemon(config: "[control]\nsocket = \"\"\n")
        #expect(await daemon.waitForLog("control socket disabled") != nil)
    }

    @Test(.enabled(if: isRoot, "needs root to run as another user and to give the socket to a group"))
    func aPeerMustBeRootTheDaemonsUserOrInTheGroup() async throws {
        let place = ControlPlace()
        // adm (gid 4) lists no members in /etc/group, so nobody (65534) is in it only when setpriv says so.
        let daemon = try await Daemon(config: place.config(group: "adm"))
        var status = stat()
        #expect(lstat(place.socket, &status) == 0)
        #expect(status.st_gid == 4)

        // Primary group adm: admitted.
        let binary = try await heartbeatctlForAnyone()
        let admitted = try await heartbeatctl(
            "status", "--json", "--socket", place.socket, launcher: asNobody(gid: 4), binary: binary)
        #expect(admitted.status == 0)
        #expect(try jsonObject(admitted.output)["ok"] as? Bool == true)

        // adm only as a supplementary group of the process: the file lets it connect, but the group
        // database does not list nobody in adm, so SO_PEERCRED's uid is refused with one error line.
        let refused = try await heartbeatctl(
            "status", "--socket", place.socket, launcher: asNobody(groups: [4]), binary: binary)
        #expect(refused.status == 1)
        #expect(
            refused.error
                == "heartbeatctl: uid 65534 may not use the control socket: only root, uid 0 and members of group adm may\n"
        )
        #expect(daemon.lines(containing: "control: refused uid 65534").count == 1)
    }
}
