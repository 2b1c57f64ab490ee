import Foundation
// Client auth against the real daemon (DESIGN §7, §8): the right token is accepted, a wrong or missing
// one is `ERR auth-failed` and never replaces a live session, failures are logged per address and
// second, and the secret file is refused when others may read it or it is missing.
import TestSupport
import Testing

/// The secret as the file holds it; the daemon drops the one trailing newline.
let testSecret = "correct horse battery staple\n"
/// Lowercase hex HMAC-SHA256("correct horse battery staple", id), computed with Python's hmac module.
let testTokens = [
    "dev-1": "7e3f2843466337f4c334c3f95b72d6f705176fecbc177c96ae07a6b5732c8458",
    "dev-2": "cc8f62dafa5f2af21d59ad6f6ccff45d882682df6774feeb0b50411531de2582",
]
/// HMAC-SHA256("another secret, also long", "dev-1").
let otherSecret = "another secret, also long\n"
let otherToken = "ff35bb0b6eee1e225cc2ce6276fab9ad3231cab496df7f038471ba39be042df3"

/// Writes `text` to a new file with `mode` and returns its path.
func secretFile(_ text: String = testSecret, mode: Int = 0o600, named name: String = "secret") throws -> String {
    let path = temporaryDirectory().appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
}

/// The auth failures the daemon's summary lines add up to.
func authFailuresLogged(by daemon: Daemon) -> Int {
    daemon.lines(containing: "event=auth-failed").compactMap { field("count", in: $0).flatMap(Int.init) }.reduce(0, +)
}

/// A config with auth on, no control socket (tests run side by side), and `extra` appended.
func authConfig(secretFile path: String?, extra: String = "") -> String {
    """
    [auth]
    mode = "hmac"
    secret_file = "\(path ?? "")"

    [control]
    socket = ""
    \(extra)
    """
}

@Suite struct AuthTests {
    @Test func theRightTokenIsAccepted() async throws {
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        for (id, token) in testTokens.sorted(by: { $0.key < $1.key }) {
            let client = try Client(port: daemon.port)
            client.send("HELLO \(id) interval=2000 token=\(token)\n")
            #expect(await client.readLine() == "OK \(id) interval=2000 timeout=6000")
            client.send("PING\n")
            #expect(await client.readLine() == "PONG")
        }
        // Hex digits in upper case are the same token.
        let upper = try Client(port: daemon.port)
        upper.send("HELLO dev-1 token=\(testTokens["dev-1"]!.uppercased())\n")
        #expect(await upper.readLine()?.hasPrefix("OK dev-1 ") == true)
    }

    /// heartbeatctl computes the token on its own (it does not link the daemon's code): both must agree.
    @Test func heartbeatctlPrintsTheTokenTheDaemonAccepts() async throws {
        let path = try secretFile()
        let daemon = try await Daemon(config: authConfig(secretFile: path))
        for id in ["dev-1", "dev-2", "user@site:7.a_b-c"] {
            let printed = try await heartbeatctl("token", id, "--secret-file", path)
            #expect(printed.status == 0, "\(printed.error)")
            let token = try #require(printed.lines.first)
            if let known = testTokens[id] { #expect(token == known) }
            let client = try Client(port: daemon.port)
            client.send("HELLO \(id) token=\(token)\n")
            #expect(await client.readLine()?.hasPrefix("OK \(id) ") == true, "\(id)")
        }
    }

    @Test(arguments: [
        ("HELLO dev-1\n", "ERR auth-failed token required"),
        ("HELLO dev-1 token=\(testTokens["dev-2"]!)\n", "ERR auth-failed"),
        ("HELLO dev-1 token=\(otherToken)\n", "ERR auth-failed"),
        ("HELLO dev-1 token=\(testTokens["dev-1"]!.dropLast())\n", "ERR auth-failed"),
        ("HELLO dev-1 token=00\n", "ERR auth-failed"),
    ])
    func aWrongOrMissingTokenIsRefused(hello: String, answer: String) async throws {
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        let client = try Client(port: daemon.port)
        client.send(hello)
        #expect(await client.readLine() == answer)
        #expect(await client.isClosedByServer())
        let line = try #require(await daemon.sessionLine("closed", of: client))
        #expect(field("reason", in: line) == "protocol")
        #expect(daemon.lines(containing: "client online").isEmpty)
    }

    @Test func aWrongTokenDoesNotReplaceALiveSession() async throws {
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        let owner = try Client(port: daemon.port)
        owner.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await owner.readLine()?.hasPrefix("OK dev-1 ") == true)

        for hello in ["HELLO dev-1", "HELLO dev-1 token=\(testTokens["dev-2"]!)", "HELLO dev-1 token=\(otherToken)"] {
            let intruder = try Client(port: daemon.port)
            intruder.send(hello + "\n")
            #expect(await intruder.readLine()?.hasPrefix("ERR auth-failed") == true, "\(hello)")
            #expect(await intruder.isClosedByServer())
        }
        // The owner's session is untouched: it was told nothing and still answers.
        owner.send("PING still-mine\n")
        #expect(await owner.readLine() == "PONG still-mine")
        #expect(await eventually { authFailuresLogged(by: daemon) == 3 })
        #expect(daemon.lines.filter { field("event", in: $0) == "replaced" }.isEmpty)

        // The right token still takes the id over, as always.
        let successor = try Client(port: daemon.port)
        successor.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await successor.readLine()?.hasPrefix("OK dev-1 ") == true)
        #expect(await owner.readLine() == "BYE replaced")
    }

    @Test func failuresAreLoggedPerAddressNotPerAttempt() async throws {
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        let attempts = 6
        for index in 0..<attempts {
            let client = try Client(port: daemon.port, source: index % 2 == 0 ? "127.0.0.1" : "127.0.0.2")
            client.send("HELLO guess-\(index) token=\(otherToken)\n")
            #expect(await client.readLine() == "ERR auth-failed")
        }
        #expect(await eventually { authFailuresLogged(by: daemon) == attempts })
        let summaries = daemon.lines(containing: "event=auth-failed")
        // Lines are per address (and second: on a manual clock, WorkerAuthTests shows three failures
        // in one second making one line; here wall time may spread the attempts over several seconds).
        #expect(Set(summaries.compactMap { field("peer", in: $0) }) == ["127.0.0.1", "127.0.0.2"])
        #expect(summaries.count <= attempts)
    }

    @Test func theSecretComesFromTheCredentialDirectory() async throws {
        let directory = temporaryDirectory()
        let path = directory.appendingPathComponent("heartbeatd-secret").path
        try testSecret.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        let daemon = try await Daemon(
            config: authConfig(secretFile: nil), environment: ["CREDENTIALS_DIRECTORY": directory.path])
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-2 token=\(testTokens["dev-2"]!)\n")
        #expect(await client.readLine()?.hasPrefix("OK dev-2 ") == true)
    }

    @Test func aReloadReadsTheSecretAgain() async throws {
        let path = try secretFile()
        let daemon = try await Daemon(config: authConfig(secretFile: path))
        try otherSecret.write(toFile: path, atomically: false, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)

        let old = try Client(port: daemon.port)
        old.send("HELLO dev-1 token=\(testTokens["dev-1"]!)\n")
        #expect(await old.readLine() == "ERR auth-failed")
        let new = try Client(port: daemon.port)
        new.send("HELLO dev-1 token=\(otherToken)\n")
        #expect(await new.readLine()?.hasPrefix("OK dev-1 ") == true)
    }

    @Test func aReloadThatTurnsAuthOffAdmitsAnyone() async throws {
        let path = try secretFile()
        let daemon = try await Daemon(config: authConfig(secretFile: path))
        try daemon.rewriteConfig("[auth]\nmode = \"off\"\n[control]\nsocket = \"\"\n")
        daemon.signal(SIGHUP)
        #expect(await daemon.waitForLog("reloaded", "outcome=applied") != nil)
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1\n")
        #expect(await client.readLine()?.hasPrefix("OK dev-1 ") == true)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620])
    func aSecretFileOthersCanOpenIsRefusedAtStart(mode: Int) async throws {
        let path = try secretFile(mode: mode)
        let finished = try await runHeartbeatd([
            "--config", try configFile(authConfig(secretFile: path)), "--listen", "127.0.0.1:0",
        ])
        #expect(finished.status == 1)
        let octal = "0" + String(mode, radix: 8)
        #expect(
            finished.errorLines == [
                "heartbeatd: secret file \(path) is open to group or others (mode \(octal)); refusing to use it: run chmod 600 \(path)"
            ])
    }

    @Test func aMissingSecretIsRefusedAtStartNamingTheFile() async throws {
        let path = temporaryDirectory().appendingPathComponent("absent").path
        let missing = try await runHeartbeatd([
            "--config", try configFile(authConfig(secretFile: path)), "--listen", "127.0.0.1:0",
        ])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("secret file \(path) does not exist"))

        let none = try await runHeartbeatd([
            "--config", try configFile(authConfig(secretFile: nil)), "--listen", "127.0.0.1:0",
        ])
        #expect(none.status == 1)
        #expect(none.standardError.contains("auth.mode is \"hmac\" but there is no secret"))

        let short = try await runHeartbeatd([
            "--config", try configFile(authConfig(secretFile: try secretFile("tiny\n"))), "--listen", "127.0.0.1:0",
        ])
        #expect(short.status == 1)
        #expect(short.standardError.contains("holds 4 bytes; at least 16 are needed"))
    }

    @Test func checkConfigChecksTheSecretToo() async throws {
        let good = try await runHeartbeatd([
            "--check-config", "--config", try configFile(authConfig(secretFile: try secretFile())),
        ])
        #expect(good.status == 0)
        #expect(good.standardOutput.contains("mode = \"hmac\""))
        let open = try await runHeartbeatd([
            "--check-config", "--config", try configFile(authConfig(secretFile: try secretFile(mode: 0o644))),
        ])
        #expect(open.status == 1)
    }
}
