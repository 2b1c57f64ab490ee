// Challenge auth in the client: against the real daemon with `[auth] mode = "challenge"` (the right key
// connects, a wrong one is refused and stops the client), and against a scripted server for what the
// daemon never sends (a malformed nonce) and for the protocol's test vector, checked byte for byte.
import Foundation
import HeartbeatClient
import TestSupport
import Testing

@Suite struct ChallengeAuthTests {
    /// docs/protocol.md's test vector: secret "correct horse battery staple", id dev-1.
    static let secret = "correct horse battery staple\n"
    static let key = "7e3f2843466337f4c334c3f95b72d6f705176fecbc177c96ae07a6b5732c8458"

    private func daemon() async throws -> (Daemon, String) {
        let secretFile = NSTemporaryDirectory() + "heartbeat-client-secret-\(UUID().uuidString)"
        try Self.secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile)
        let daemon = try await Daemon(
            config: "[auth]\nmode = \"challenge\"\nsecret_file = \"\(secretFile)\"\n[control]\nsocket = \"\"\n")
        return (daemon, secretFile)
    }

    private func configuration(port: UInt16, key: String?) throws -> HeartbeatClient.Configuration {
        var configuration = HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: port), id: "dev-1")
        configuration.deviceKey = try key.map { try #require(HeartbeatClient.DeviceKey($0)) }
        return configuration
    }

    @Test func theRightKeyConnectsAndBeats() async throws {
        let (daemon, secretFile) = try await daemon()
        defer {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: secretFile)
        }
        // Upper case is the same key: the MAC is keyed with the lowercase text, as the server's is.
        let client = try HeartbeatClient(try configuration(port: daemon.port, key: Self.key.uppercased()))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.isConnected }, "\(recorder.states)")
        #expect(await daemon.waitForLog("client online", "client.id=dev-1", within: 10) != nil)
    }

    @Test func aWrongKeyIsRefusedAndStopsTheClient() async throws {
        let (daemon, secretFile) = try await daemon()
        defer {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: secretFile)
        }
        let wrong = String(Self.key.dropLast()) + "0"
        let client = try HeartbeatClient(try configuration(port: daemon.port, key: wrong))
        let recorder = StateRecorder(client)
        await #expect { try await client.run() } throws: { ($0 as? HeartbeatClient.Error)?.code == .auth }
        let states = await recorder.untilStopped()
        #expect(!states.contains { $0.isConnected })
        #expect(states.count { $0.isConnecting } == 1, "stops instead of retrying: \(states)")
        #expect(await daemon.waitForLog("auth failed", "last id dev-1", within: 10) != nil)
    }

    @Test func noKeyStopsAtTheChallengeWithAClearError() async throws {
        let (daemon, secretFile) = try await daemon()
        defer {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: secretFile)
        }
        let client = try HeartbeatClient(try configuration(port: daemon.port, key: nil))
        await #expect { try await client.run() } throws: { error in
            guard let error = error as? HeartbeatClient.Error else { return false }
            return error.code == .auth && error.detail.contains("no device key is set")
        }
    }

    /// The AUTH line is docs/protocol.md's, and HELLO carries no token.
    @Test func answersTheTestVectorsNonce() async throws {
        let server = try FakeServer { line in
            line.hasPrefix("HELLO")
                ? .say("CHALLENGE 00112233445566778899aabbccddeeff") : .say("OK dev-1 interval=1000 timeout=3000")
        }
        let client = try HeartbeatClient(try configuration(port: server.port, key: Self.key))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.isConnected }, "\(recorder.states)")
        #expect(
            Array(server.lines.prefix(2)) == [
                "HELLO dev-1 interval=1000",
                "AUTH 424e8e37301f61d7b55c5841f225ded454bbeb50dcae93c229cfc5fee14fc7b7",
            ])
    }

    @Test(arguments: ["CHALLENGE 0011", "CHALLENGE 00112233445566778899aabbccddeefg", "CHALLENGE"])
    func aMalformedChallengeStopsTheClient(line: String) async throws {
        let server = try FakeServer { _ in .say(line) }
        let client = try HeartbeatClient(try configuration(port: server.port, key: Self.key))
        let recorder = StateRecorder(client)
        let refused = HeartbeatClient.Error(.auth, "malformed challenge '\(line)'")
        await #expect(throws: refused) { try await client.run() }
        #expect(await recorder.untilStopped().count { $0.isConnecting } == 1)
        #expect(server.lines.count == 1, "no AUTH for a nonce it cannot read: \(server.lines)")
    }

    @Test func aKeyAndATokenTogetherAreRefused() throws {
        var configuration = try configuration(port: 9, key: Self.key)
        configuration.token = Self.key
        #expect { try HeartbeatClient(configuration) } throws: {
            ($0 as? HeartbeatClient.Error)?.code == .invalidConfiguration
        }
    }

    @Test(arguments: ["", "00ff", String(repeating: "g", count: 64), String(repeating: "a", count: 65)])
    func aKeyThatIsNot64HexDigitsIsNoKey(text: String) {
        #expect(HeartbeatClient.DeviceKey(text) == nil)
    }
}
