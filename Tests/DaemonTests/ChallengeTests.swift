import DeviceKeys
import Foundation
// Challenge auth against the real daemon (docs/protocol.md): HELLO → CHALLENGE → AUTH → OK with the right
// device key; every wrong AUTH is `ERR auth-failed` with its reason counted and logged, a recorded AUTH
// replayed on a new connection fails, and a failed attempt never ends the live session of that id.
import TestSupport
import Testing

/// A config with challenge auth, no control socket, and `extra` appended.
func challengeConfig(secretFile path: String, extra: String = "") -> String {
    "[auth]\nmode = \"challenge\"\nsecret_file = \"\(path)\"\n\n[control]\nsocket = \"\"\n\(extra)"
}

/// The nonce of a `CHALLENGE <nonce>` line, or nil.
func challengeNonce(_ line: String?) -> String? {
    guard let line, line.hasPrefix("CHALLENGE "), line.count == 42 else { return nil }
    return String(line.dropFirst(10))
}

/// The AUTH line a device with `secret`'s key for `id` sends for `nonce`.
func authLine(id: String, nonce: String, secret: String = testSecret) -> String {
    let key = DeviceKey.token(secret: DeviceKey.secret(fromFileContents: Array(secret.utf8)), id: id)
    let mac = DeviceKey.challengeResponse(deviceKey: key, nonce: nonce)
    return "AUTH " + mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "\n"
}

/// HELLO, CHALLENGE, AUTH with `secret`'s key: the client, its OK line and the AUTH line it sent.
func challenged(_ id: String, port: UInt16, secret: String = testSecret) async throws -> (Client, String?, String) {
    let client = try Client(port: port)
    client.send("HELLO \(id) interval=2000\n")
    let challenge = await client.readLine()
    let nonce = try #require(challengeNonce(challenge), "\(challenge ?? "nothing")")
    let auth = authLine(id: id, nonce: nonce, secret: secret)
    client.send(auth)
    return (client, await client.readLine(), auth)
}

@Suite struct ChallengeTests {
    @Test func theRightKeyIsAcceptedAndNoncesAreFresh() async throws {
        let daemon = try await Daemon(config: challengeConfig(secretFile: try secretFile()))
        let (client, ok, _) = try await challenged("dev-1", port: daemon.port)
        #expect(ok == "OK dev-1 interval=2000 timeout=6000")
        client.send("PING\n")
        #expect(await client.readLine() == "PONG")
        var nonces: Set<String> = []
        for _ in 0..<4 {
            let other = try Client(port: daemon.port)
            other.send("HELLO dev-2\n")
            nonces.insert(try #require(challengeNonce(await other.readLine())))
        }
        #expect(nonces.count == 4)
        #expect(daemon.lines(containing: "auth.mode \\\"hmac\\\"").isEmpty)
    }

    @Test func aReplayedAuthFailsOnANewConnectionAndLeavesTheOwnerAlone() async throws {
        let daemon = try await Daemon(config: challengeConfig(secretFile: try secretFile()))
        let (owner, ok, recorded) = try await challenged("dev-1", port: daemon.port)
        #expect(ok?.hasPrefix("OK dev-1 ") == true)

        let replay = try Client(port: daemon.port)
        replay.send("HELLO dev-1 interval=2000\n")
        #expect(challengeNonce(await replay.readLine()) != nil)
        replay.send(recorded)
        #expect(await replay.readLine() == "ERR auth-failed")
        #expect(await replay.isClosedByServer())
        owner.send("PING still-mine\n")
        #expect(await owner.readLine() == "PONG still-mine")
        #expect(await eventually { authFailuresLogged(by: daemon) == 1 })
        let line = try #require(daemon.lines(containing: "event=auth-failed").first)
        #expect(field("reason", in: line) == "bad-mac")
        #expect(daemon.lines.filter { field("event", in: $0) == "replaced" }.isEmpty)
    }

    @Test func aKeyFromAnotherSecretIsABadMAC() async throws {
        let daemon = try await Daemon(config: challengeConfig(secretFile: try secretFile()))
        let (client, answer, _) = try await challenged("dev-1", port: daemon.port, secret: otherSecret)
        #expect(answer == "ERR auth-failed")
        #expect(await client.isClosedByServer())
        let closed = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: closed) == "protocol")
    }

    /// Each malformed or misplaced line ends only its own connection, with `ERR auth-failed` and a reason.
    @Test(arguments: [
        ("AUTH \(String(repeating: "0", count: 64))\n", "ERR auth-failed AUTH before CHALLENGE", "unexpected-auth"),
        (
            "HELLO dev-1 token=\(testTokens["dev-1"]!)\n", "ERR auth-failed challenge auth: send HELLO without token=",
            "unexpected-token"
        ),
        ("HELLO dev-1\nAUTH 00\n", "ERR auth-failed AUTH takes 64 hex digits, not 2", "bad-auth"),
        ("HELLO dev-1\nAUTH \(String(repeating: "x", count: 64))\n", "ERR auth-failed AUTH has byte 'x'", "bad-auth"),
        ("HELLO dev-1\nPING\n", "ERR auth-failed expected AUTH <64 hex digits>", "no-auth"),
        ("HELLO dev-1\nHELLO dev-1\n", "ERR auth-failed expected AUTH <64 hex digits>", "no-auth"),
    ])
    func badInputEndsItsOwnConnection(lines: String, answer: String, reason: String) async throws {
        let daemon = try await Daemon(config: challengeConfig(secretFile: try secretFile()))
        let (owner, ok, _) = try await challenged("dev-1", port: daemon.port)
        #expect(ok?.hasPrefix("OK dev-1 ") == true)
        let client = try Client(port: daemon.port)
        client.send(lines)
        var reply = await client.readLine()
        if reply?.hasPrefix("CHALLENGE ") == true { reply = await client.readLine() }
        #expect(reply == answer)
        #expect(await client.isClosedByServer())
        #expect(await eventually { authFailuresLogged(by: daemon) == 1 })
        #expect(field("reason", in: daemon.lines(containing: "event=auth-failed").first ?? "") == reason)
        owner.send("PING\n")
        #expect(await owner.readLine() == "PONG")
    }

    @Test func aSecondAuthAfterOKEndsTheSession() async throws {
        let daemon = try await Daemon(config: challengeConfig(secretFile: try secretFile()))
        let (client, ok, auth) = try await challenged("dev-1", port: daemon.port)
        #expect(ok?.hasPrefix("OK dev-1 ") == true)
        client.send(auth)
        #expect(await client.readLine() == "ERR auth-failed AUTH after OK")
        #expect(await client.isClosedByServer())
    }

    @Test func noAuthWithinTheHelloTimeoutIsAHelloTimeout() async throws {
        let daemon = try await Daemon(
            config: challengeConfig(secretFile: try secretFile(), extra: "[heartbeat]\nhello_timeout = \"300ms\"\n"))
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1\n")
        #expect(challengeNonce(await client.readLine()) != nil)
        #expect(await client.readLine() == "ERR hello-timeout")
        let closed = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: closed) == "hello-timeout")
    }

    @Test func hmacOnAPlainListenerIsWarnedAbout() async throws {
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        #expect(await daemon.waitForLog("auth.mode \"hmac\" on plain TCP listeners") != nil)
    }
}
