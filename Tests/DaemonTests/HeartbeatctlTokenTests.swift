// heartbeatctl token: the device key the daemon checks, from --secret-file or systemd's credential
// directory (and which one it read, on stderr), in text and JSON; bad secret files and ids fail with one line.
import Foundation
import TestSupport
import Testing

@Suite struct HeartbeatctlTokenTests {
    @Test func tokenIsTheHMACTheDaemonChecks() async throws {
        // The test vector from docs/notes: HMAC-SHA256("0123456789abcdef", "sensor-1").
        let vector = try secretFile("0123456789abcdef\n")
        let token = try await heartbeatctl("token", "sensor-1", "--secret-file", vector)
        #expect(token.status == 0)
        #expect(token.output == "ae25f6fd057d1d58529794c9fa8e234e4a8d90acc427924a7e402b4a4fd81e66\n")
        // Which file it read goes to stderr, so a rotation cannot silently use another source than meant.
        #expect(token.error == "heartbeatctl: secret from \(vector)\n")

        // Without --secret-file: systemd's credential directory.
        let credentials = URL(fileURLWithPath: try secretFile(named: "heartbeatd-secret")).deletingLastPathComponent()
            .path
        let fromCredential = try await heartbeatctl(
            "token", "dev-1", environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(fromCredential.output == testTokens["dev-1"].map { $0 + "\n" })
        #expect(fromCredential.error == "heartbeatctl: secret from \(credentials)/heartbeatd-secret\n")

        // The daemon accepts what heartbeatctl prints.
        let daemon = try await Daemon(config: authConfig(secretFile: try secretFile()))
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1 token=\(fromCredential.output.dropLast())\n")
        #expect(await client.readLine()?.hasPrefix("OK dev-1 ") == true)

        // --json, like every other command (and before the subcommand too).
        for arguments in [
            ["token", "sensor-1", "--secret-file", vector, "--json"],
            ["--json", "token", "sensor-1", "--secret-file", vector],
        ] {
            let json = try await CtlProcess(arguments).finish()
            #expect(json.status == 0, "\(arguments): \(json.error)")
            let token = "ae25f6fd057d1d58529794c9fa8e234e4a8d90acc427924a7e402b4a4fd81e66"
            #expect(
                json.output == #"{"id":"sensor-1","token":""# + token + #"","secret_file":""# + vector + #""}"# + "\n")
        }

        let short = try await heartbeatctl("token", "dev-1", "--secret-file", try secretFile("too short\n"))
        #expect(short.status == 1)
        #expect(short.error.hasSuffix(": must hold at least 16 bytes\n"))
        let missing = try await heartbeatctl("token", "dev-1", "--secret-file", "/nonexistent/secret")
        #expect(missing.status == 1)
        #expect(
            missing.error == "heartbeatctl: secret file /nonexistent/secret: cannot read: No such file or directory\n")
        let badID = try await heartbeatctl("token", "dev 1", "--secret-file", vector)
        #expect(badID.status == 1)
        #expect(badID.error == "heartbeatctl: \"dev 1\" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)\n")
    }
}
