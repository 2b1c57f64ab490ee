import Foundation
// Revocation and rotation against the real daemon: a revoked id is refused (`ERR auth-failed revoked`),
// a reload that revokes an id ends its live session (`BYE revoked`, reason `revoked`), a bad revoked file
// keeps the running configuration, and a previous secret is accepted alongside the current one until removed.
import TestSupport
import Testing

/// Writes `text` as a revoked-ids file and returns its path.
func revokedFile(_ text: String) throws -> String {
    let path = temporaryDirectory().appendingPathComponent("revoked").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct RevocationTests {
    @Test(arguments: ["hmac", "challenge"])
    func aRevokedIDIsRefusedAndAReloadEndsItsLiveSession(mode: String) async throws {
        let secret = try secretFile()
        let revoked = try revokedFile("# nobody yet\n")
        let config = { (list: String) in
            "[auth]\nmode = \"\(mode)\"\nsecret_file = \"\(secret)\"\nrevoked = \"\(list)\"\n[control]\nsocket = \"\"\n"
        }
        let daemon = try await Daemon(config: config(revoked))
        let hello = { (id: String) -> Client in
            let client = try Client(port: daemon.port)
            client.send(mode == "hmac" ? "HELLO \(id) token=\(testTokens[id]!)\n" : "HELLO \(id)\n")
            return client
        }
        func identify(_ id: String) async throws -> Client {
            if mode == "challenge" {
                let (client, ok, _) = try await challenged(id, port: daemon.port)
                #expect(ok?.hasPrefix("OK \(id) ") == true)
                return client
            }
            let client = try hello(id)
            #expect(await client.readLine()?.hasPrefix("OK \(id) ") == true)
            return client
        }
        let doomed = try await identify("dev-1")
        let kept = try await identify("dev-2")

        try "dev-1  # lost on 2024-05-02\n".write(toFile: revoked, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(await doomed.readLine() == "BYE revoked")
        #expect(await doomed.isClosedByServer())
        let offline = try #require(await daemon.sessionLine("offline", of: doomed))
        #expect(field("reason", in: offline) == "revoked")
        kept.send("PING\n")
        #expect(await kept.readLine() == "PONG")

        let again = try hello("dev-1")
        #expect(await again.readLine() == "ERR auth-failed revoked")
        #expect(await again.isClosedByServer())
        #expect(await eventually { authFailuresLogged(by: daemon) == 1 })
        #expect(field("reason", in: daemon.lines(containing: "event=auth-failed").first ?? "") == "revoked")
    }

    @Test func aBadRevokedFileKeepsTheRunningConfigurationAndNamesTheLine() async throws {
        let secret = try secretFile()
        let revoked = try revokedFile("dev-9\n")
        let daemon = try await Daemon(
            config:
                "[auth]\nmode = \"hmac\"\nsecret_file = \"\(secret)\"\nrevoked = \"\(revoked)\"\n[control]\nsocket = \"\"\n"
        )
        try "dev-2\nnot an id\n".write(toFile: revoked, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let failed = try #require(await daemon.waitForLog("reload failed"))
        #expect(failed.contains("revoked ids file \(revoked): line 2: \"not an id\" is not a client id"))
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-2 token=\(testTokens["dev-2"]!)\n")
        #expect(await client.readLine()?.hasPrefix("OK dev-2 ") == true)

        let bad = try await runHeartbeatd([
            "--check-config", "--config",
            try configFile("[auth]\nmode = \"hmac\"\nsecret_file = \"\(secret)\"\nrevoked = \"\(revoked)\"\n"),
        ])
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("line 2"))
    }

    @Test(arguments: ["hmac", "challenge"])
    func aPreviousSecretIsAcceptedUntilItIsRemoved(mode: String) async throws {
        // Rotation: the new secret is current, the old one previous; keys from either work.
        let current = try secretFile(otherSecret, named: "secret")
        let previous = try secretFile(testSecret, named: "previous")
        let config = { (previousLine: String) in
            "[auth]\nmode = \"\(mode)\"\nsecret_file = \"\(current)\"\n\(previousLine)[control]\nsocket = \"\"\n"
        }
        let daemon = try await Daemon(config: config("previous_secret_file = \"\(previous)\"\n"))
        #expect(await daemon.waitForLog("secret from \(current) and previous from \(previous)") != nil)
        func accepted(_ secret: String) async throws -> Bool {
            if mode == "challenge" {
                let (_, answer, _) = try await challenged("dev-1", port: daemon.port, secret: secret)
                return answer?.hasPrefix("OK dev-1 ") == true
            }
            let client = try Client(port: daemon.port)
            client.send("HELLO dev-1 token=\(secret == testSecret ? testTokens["dev-1"]! : otherToken)\n")
            return await client.readLine()?.hasPrefix("OK dev-1 ") == true
        }
        #expect(try await accepted(otherSecret))
        #expect(try await accepted(testSecret))

        try daemon.rewriteConfig(config(""))
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)
        #expect(try await accepted(otherSecret))
        #expect(try await !accepted(testSecret))
    }

    @Test func thePreviousSecretCredentialIsOptional() async throws {
        let directory = temporaryDirectory()
        for (name, text) in [("heartbeatd-secret", otherSecret), ("heartbeatd-previous-secret", testSecret)] {
            let path = directory.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o400)
        }
        let config = "[auth]\nmode = \"hmac\"\n[control]\nsocket = \"\"\n"
        let daemon = try await Daemon(config: config, environment: ["CREDENTIALS_DIRECTORY": directory.path])
        let old = try Client(port: daemon.port)
        old.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await old.readLine()?.hasPrefix("OK dev-1 ") == true)

        let alone = temporaryDirectory()
        let path = alone.appendingPathComponent("heartbeatd-secret").path
        try otherSecret.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o400)
        let single = try await Daemon(config: config, environment: ["CREDENTIALS_DIRECTORY": alone.path])
        let refused = try Client(port: single.port)
        refused.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await refused.readLine() == "ERR auth-failed")
    }
}
