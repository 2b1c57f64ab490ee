// Storm defences against the real daemon: the `backlog` key reaches listen(2) (`ss -ltn` shows it as
// the listener's Send-Q), and `connect_rate` resets what a network opens over it, logged once.
import Foundation
import TestSupport
import Testing

@Suite struct StormTests {
    /// `ss -ltnH sport = :port`'s Send-Q: for a listener, the backlog the kernel applies.
    private func listenerSendQueue(port: UInt16) async throws -> Int? {
        let path = temporaryDirectory().appendingPathComponent("ss").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
        process.arguments = ["-ltnH", "sport = :\(port)"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try process.run()
        #expect(await eventually(within: 10) { !process.isRunning })
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let fields = output.split(separator: "\n").first?.split(separator: " ")
        return fields.flatMap { $0.count > 2 ? Int($0[2]) : nil }
    }

    @Test func theBacklogKeyReachesListen() async throws {
        let daemon = try await Daemon(config: "backlog = 100\n")
        #expect(try await listenerSendQueue(port: daemon.port) == 100)
        #expect(daemon.lines.filter { $0.contains("net.core.somaxconn") }.isEmpty)
    }

    @Test func aBacklogOverSomaxconnIsLoggedWithTheValueInForce() async throws {
        let text = try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
        let somaxconn = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        guard somaxconn < 65535 else { return }
        let daemon = try await Daemon(config: "backlog = 65535\n")
        #expect(try await listenerSendQueue(port: daemon.port) == somaxconn)
        let line = await daemon.waitForLog("is above net.core.somaxconn")
        #expect(line?.contains("the kernel applies \(somaxconn)") == true)
    }

    @Test func overTheConnectRateIsResetAndLoggedOnce() async throws {
        let daemon = try await Daemon(config: "[limits]\nconnect_rate = 1\nconnect_burst = 2\n")
        // A burst of five from 127.0.0.0/24: the first two get sessions, the other three are reset unanswered.
        var clients: [Client] = []
        for _ in 0..<5 { clients.append(try Client(port: daemon.port, source: "127.0.0.1")) }
        for (index, client) in clients.enumerated() { client.send("HELLO rate-\(index)\n") }
        var answered = 0
        for client in clients where await client.readLine()?.hasPrefix("OK rate-") == true { answered += 1 }
        #expect(answered == 2)
        // Another /24 is not affected.
        let other = try Client(port: daemon.port, source: "127.0.1.1")
        other.send("HELLO rate-other\n")
        #expect(await other.readLine()?.hasPrefix("OK rate-other") == true)
        #expect(await daemon.waitForLog("over the connect rate") != nil)
        #expect(daemon.lines.filter { $0.contains("over the connect rate") }.count == 1)
    }
}
