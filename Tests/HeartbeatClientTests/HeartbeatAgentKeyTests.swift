// heartbeat-agent with --key-file against the real daemon in `[auth] mode = "challenge"`: the right key
// connects, a wrong one ends with 77 (no reconnect loop), and a key file that is missing, malformed or open
// to others is configuration (78) before any connection.
import Foundation
import Glibc
import TestSupport
import Testing

@Suite struct HeartbeatAgentKeyTests {
    /// A file with `text` and `mode`, removed by the caller.
    private func file(_ text: String, mode: Int = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "heartbeat-agent-key-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    private func agent(port: UInt16, keyFile: String) throws -> Child {
        try Child(
            executable: builtProduct("heartbeat-agent"),
            arguments: ["--server", "127.0.0.1:\(port)", "--id", "dev-1", "--interval", "1s", "--key-file", keyFile])
    }

    @Test func theRightKeyConnectsAndAWrongOneExits77() async throws {
        let secret = try file(ChallengeAuthTests.secret)
        let daemon = try await Daemon(
            config: "[auth]\nmode = \"challenge\"\nsecret_file = \"\(secret)\"\n[control]\nsocket = \"\"\n")
        let right = try file(ChallengeAuthTests.key + "\n")
        let wrong = try file(String(ChallengeAuthTests.key.reversed()))
        defer {
            daemon.stop()
            for path in [secret, right, wrong] { try? FileManager.default.removeItem(atPath: path) }
        }

        let good = try agent(port: daemon.port, keyFile: right)
        defer { good.kill() }
        #expect(
            await eventually(within: 30) { daemon.log.contains("client online client.id=dev-1") },
            "\(good.standardError)")
        good.signal(SIGTERM)
        #expect(await good.exitStatus(within: 10) == 0)

        let bad = try agent(port: daemon.port, keyFile: wrong)
        defer { bad.kill() }
        #expect(await bad.exitStatus(within: 30) == 77, "\(bad.standardError)")
        #expect(bad.standardError.contains("ERR auth-failed"))
        #expect(!bad.standardError.contains(String(ChallengeAuthTests.key.reversed())), "the key is never logged")
    }

    @Test(arguments: [
        ("/nonexistent/heartbeat-agent-key", 0o600, "cannot read --key-file"),
        ("00ff", 0o600, "does not hold a device key (64 hex digits)"),
        (ChallengeAuthTests.key, 0o644, "is open to group or others"),
    ])
    func anUnusableKeyFileExits78(contents: String, mode: Int, message: String) async throws {
        let path = contents.hasPrefix("/") ? contents : try file(contents, mode: mode)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let agent = try agent(port: 9, keyFile: path)
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 10) == 78)
        #expect(agent.standardError.contains(message), "\(agent.standardError)")
    }
}
