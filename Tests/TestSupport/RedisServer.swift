// A redis-server of the test's own: a free loopback port, no persistence (`--save '' --appendonly
// no`), killed (SIGKILL) when the value goes away — also when the test throws or fails. With
// `cluster`, a Redis Cluster of one node that serves every slot (the link's per-record scripts). `restart`
// kills it and starts a fresh, empty one on the same port, as a Redis restart without persistence.
import Foundation
import Glibc

public final class RedisServer: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart`, which tests call from one task.
    public let port: UInt16
    private var process: ChildProcess
    private let directory: URL

    /// Runs as a Redis Cluster of one node (`cluster-enabled yes`, every slot its own).
    public let isCluster: Bool
    /// The cluster bus's port (Redis's default, the port + 10,000, may be out of range or taken).
    private let busPort: UInt16

    public init(cluster: Bool = false) async throws {
        port = try freePort()
        directory = temporaryDirectory()
        isCluster = cluster
        busPort = cluster ? try freePort() : 0
        process = try Self.launch(port: port, directory: directory, cluster: cluster, busPort: busPort)
        try await waitUntilReady()
    }

    deinit { stop() }

    public var address: String { "127.0.0.1:\(port)" }

    public var isRunning: Bool { process.isRunning }

    /// SIGKILL, like a crash; the data goes with it (there is no persistence).
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public func restart() async throws {
        stop()
        process = try Self.launch(port: port, directory: directory, cluster: isCluster, busPort: busPort)
        try await waitUntilReady()
    }

    /// SIGSTOP / SIGCONT: a Redis that stops answering without closing anything.
    public func pause() { kill(process.processIdentifier, SIGSTOP) }
    public func resume() { kill(process.processIdentifier, SIGCONT) }

    /// `redis-cli` with these arguments; its output.
    public func cli(_ arguments: String...) throws -> String {
        let output = Pipe()
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        child.arguments = ["-p", "\(port)"] + arguments
        child.standardOutput = output
        child.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try child.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    private func waitUntilReady() async throws {
        let ready = await eventually(within: 10) { (try? cli("PING"))?.hasPrefix("PONG") == true }
        guard ready else { throw TestFailure.message("redis-server did not answer on port \(port)") }
        guard isCluster else { return }
        // A fresh cluster node serves no slot; a restarted one has them back from its nodes file.
        _ = try cli("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        let serving = await eventually(within: 10) {
            (try? cli("CLUSTER", "INFO"))?.contains("cluster_state:ok") == true
        }
        guard serving else { throw TestFailure.message("redis-server on port \(port) did not serve its slots") }
    }

    private static func launch(port: UInt16, directory: URL, cluster: Bool, busPort: UInt16) throws -> ChildProcess {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        child.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
            "--daemonize", "no", "--loglevel", "warning",
        ]
        if cluster {
            child.arguments += [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf", "--cluster-port",
                "\(busPort)",
            ]
        }
        child.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        child.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try child.run()
        return child
    }
}
