// heartbeat-agent as a device runs it: connects, logs its states, and on SIGTERM says BYE and exits 0;
// a refused token ends it with its own exit status instead of a reconnect loop.
import Foundation
import Glibc
import TestSupport
import Testing

@Suite struct HeartbeatAgentTests {
    @Test func leavesWithByeAndExitsZeroOnSigterm() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let agent = try Child(
            executable: builtProduct("heartbeat-agent"),
            arguments: ["--server", "localhost:\(daemon.port)", "--id", "agent-7", "--interval", "1s"])
        defer { agent.kill() }
        #expect(await eventually(within: 5) { agent.standardError.contains("connected to 127.0.0.1:\(daemon.port)") })
        #expect(await eventually(within: 5) { daemon.log.contains("client online client.id=agent-7") })

        agent.signal(SIGTERM)
        #expect(await agent.exitStatus(within: 5) == 0)
        #expect(agent.standardError.contains("stopped: shut down"))
        #expect(
            await eventually(within: 5) {
                daemon.log.contains("client.id=agent-7") && daemon.log.contains("reason=bye")
            })
    }

    @Test func refusedTokenExitsWithItsOwnStatus() async throws {
        let server = try FakeServer { _ in .sayAndClose("ERR auth-failed") }
        let tokenFile = NSTemporaryDirectory() + "heartbeat-agent-token-\(UUID().uuidString)"
        try "  00ff\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let agent = try Child(
            executable: builtProduct("heartbeat-agent"),
            arguments: ["--server", "127.0.0.1:\(server.port)", "--id", "agent-8", "--token-file", tokenFile])
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 5) == 77)
        #expect(server.lines == ["HELLO agent-8 interval=10000 token=00ff"])
        #expect(agent.standardError.contains("ERR auth-failed"))
    }

    /// A token file it cannot read is configuration (78), which the unit's RestartPreventExitStatus=
    /// stops on, not a usage error (64) it would restart every 5 seconds.
    @Test(arguments: ["/nonexistent/heartbeat-agent-token", "/"])
    func unreadableTokenFileExitsWithTheConfigurationStatus(path: String) async throws {
        let server = try FakeServer { _ in .sayAndClose("OK agent-9 interval=10000") }
        let agent = try Child(
            executable: try builtProduct("heartbeat-agent"),
            arguments: ["--server", "127.0.0.1:\(server.port)", "--id", "agent-9", "--token-file", path])
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 5) == 78)
        #expect(agent.standardError.contains("cannot read --token-file \(path)"))
        #expect(server.lines.isEmpty)
    }

    @Test func emptyTokenFileExitsWithTheConfigurationStatus() async throws {
        let tokenFile = NSTemporaryDirectory() + "heartbeat-agent-token-\(UUID().uuidString)"
        try "\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let agent = try Child(
            executable: try builtProduct("heartbeat-agent"),
            arguments: ["--server", "127.0.0.1:9", "--id", "agent-9", "--token-file", tokenFile])
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 5) == 78)
        #expect(agent.standardError.contains("is empty"))
    }

    @Test func aUsageErrorExitsWith64() async throws {
        let agent = try Child(
            executable: try builtProduct("heartbeat-agent"), arguments: ["--server", "no-port", "--id", "agent-9"])
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 5) == 64)
        #expect(agent.standardError.contains("--server must be host:port"))
    }

    /// Over a [tls] listener: the server verified against --tls-ca, the device's certificate (CN = id)
    /// for a daemon that requires one.
    @Test func speaksTLSWithItsCertificate() async throws {
        let certificates = TestCertificates.shared
        let daemon = try await Daemon(
            config: certificates.tlsSection(clientCA: certificates.ca)
                + """
                [control]
                socket = ""
                """)
        defer { daemon.stop() }
        let client = certificates.client("dev-1")
        let agent = try Child(
            executable: builtProduct("heartbeat-agent"),
            arguments: [
                "--server", "127.0.0.1:\(daemon.tlsPort)", "--id", "dev-1", "--interval", "1s",
                "--tls-ca", certificates.ca, "--tls-cert", client.certificate, "--tls-key", client.key,
            ])
        defer { agent.kill() }
        #expect(
            await eventually(within: 30) { daemon.log.contains("client online client.id=dev-1") },
            "\(agent.standardError)")
        agent.signal(SIGTERM)
        #expect(await agent.exitStatus(within: 10) == 0)
    }

    /// A CA file it cannot use is configuration: 78, before any connection.
    @Test func anUnusableCAFileExitsWithTheConfigurationStatus() async throws {
        let agent = try Child(
            executable: builtProduct("heartbeat-agent"),
            arguments: ["--server", "127.0.0.1:9", "--id", "agent-ca", "--tls-ca", "/nonexistent/ca.pem"])
        defer { agent.kill() }
        #expect(await agent.exitStatus(within: 10) == 78)
        #expect(agent.standardError.contains("cannot use --tls-ca /nonexistent/ca.pem"))
    }
}
