// A cluster on loopback for the tests: a redis-server of its own (no persistence) and heartbeatd
// nodes pointed at it, plus the reads the tests make of Redis. Everything is killed when the rig goes,
// also when a test fails.
import ClusterSchema
import Foundation
import Hiredis
import TestSupport

final class ClusterRig: @unchecked Sendable {
    // @unchecked: a test uses its rig from one task.
    let redis: RedisServer
    let prefix = "t:"
    let lease: String
    var nodes: [String: Daemon] = [:]
    let keys: ClusterKeys
    private let directory = temporaryDirectory()

    /// `redisCluster`: Redis runs as a Redis Cluster (one node, every slot), so the nodes use one
    /// script per record instead of one `turn` call per loop turn.
    init(lease: String = "2s", redisCluster: Bool = false) async throws {
        redis = try await RedisServer(cluster: redisCluster)
        self.lease = lease
        keys = ClusterKeys(prefix: prefix)
    }

    func config(_ name: String, buffer: Int = 10_000, tick: String = "10ms") -> String {
        """
        [heartbeat]
        tick = "\(tick)"
        [control]
        socket = "\(directory.path)/\(name).sock"
        [cluster]
        redis = "\(redis.address)"
        node = "\(name)"
        prefix = "\(prefix)"
        lease = "\(lease)"
        buffer = \(buffer)
        stream_maxlen = 1000
        """
    }

    func socket(_ name: String) -> String { "\(directory.path)/\(name).sock" }

    @discardableResult
    func start(_ name: String, buffer: Int = 10_000, tick: String = "10ms") async throws -> Daemon {
        let daemon = try await Daemon(config: config(name, buffer: buffer, tick: tick))
        nodes[name] = daemon
        guard await daemon.waitForLog("cluster: reconciled", within: 10) != nil else {
            throw TestFailure.message("node \(name) did not join:\n\(daemon.log)")
        }
        return daemon
    }

    func client() throws -> BlockingRedis {
        try BlockingRedis(.tcp(host: "127.0.0.1", port: redis.port))
    }

    /// Every client record in Redis: id → node.
    func records() throws -> [String: String] {
        let redis = try client()
        guard case .array(let parts) = try redis.command(["KEYS", "\(prefix)client:*"]) else { return [:] }
        var found: [String: String] = [:]
        for key in parts.compactMap(\.text) {
            guard let id = keys.id(inClientKey: key), let fields = try redis.command(["HGETALL", key]).fieldMap,
                let record = try? PresenceRecord(fields: fields)
            else { continue }
            found[id] = record.node
        }
        return found
    }

    /// Every stream entry, oldest first.
    func events() throws -> [StreamEntry] {
        let reply = try client().command(["XRANGE", keys.events, "-", "+"])
        return (reply.elements ?? []).compactMap { item in
            guard let parts = item.elements, parts.count == 2, let fields = parts[1].fieldMap else { return nil }
            return try? StreamEntry(fields: fields)
        }
    }

    /// heartbeatctl with these arguments; its stdout and exit status.
    func heartbeatctl(_ arguments: [String]) throws -> (output: String, status: Int32) {
        let output = Pipe()
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: builtProduct("heartbeatctl"))
        child.arguments = arguments
        child.standardOutput = output
        child.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try child.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), child.terminationStatus)
    }

    /// The ids a node's own `clients --json` lists.
    func localClients(_ name: String) throws -> Set<String> {
        let answer = try heartbeatctl(["--socket", socket(name), "clients", "--json"])
        return Set(
            answer.output.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
            })
    }
}
