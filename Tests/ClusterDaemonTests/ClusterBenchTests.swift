// heartbeat-bench against several nodes (`--server a,b,c`): hold spreads its clients round robin, and
// churn with reused ids brings each id back on another node, so vanished sessions are taken over across
// nodes; at the end Redis's view equals the union of the nodes' own.
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ClusterBenchTests {
    /// Starts heartbeat-bench; `finish` waits for it and returns its JSON summary.
    final class Bench: @unchecked Sendable {
        // @unchecked: one test uses it from one task.
        let process = ChildProcess()
        let output = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: builtProduct("heartbeat-bench"))
            process.arguments = arguments + ["--json"]
            process.standardOutput = output
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
        }

        func finish() throws -> [String: Any] {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let object = try JSONSerialization.jsonObject(with: data)
            return try #require(object as? [String: Any], "not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
    }

    static func servers(_ nodes: [Daemon]) -> String {
        nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    @Test func holdSpreadsClientsRoundRobin() async throws {
        let rig = try await ClusterRig()
        let nodes = [try await rig.start("a"), try await rig.start("b"), try await rig.start("c")]
        let bench = try Bench([
            "hold", "-n", "30", "-i", "1s", "-d", "8s", "--server", Self.servers(nodes), "--id-prefix", "spread",
        ])
        for name in ["a", "b", "c"] {
            #expect(await eventually(within: 10) { (try? rig.localClients(name).count) == 10 })
        }
        #expect(await eventually { (try? rig.records().count) == 30 })
        let summary = try bench.finish()
        #expect(summary["connected"] as? Int == 30)
        #expect(summary["failures"] as? Int == 0)
    }

    @Test func churnWithReusedIdsTakesVanishedSessionsOverAcrossNodes() async throws {
        let rig = try await ClusterRig()
        let nodes = [try await rig.start("a"), try await rig.start("b")]
        // 10 ids, each back 4 times, each time on the other node; vanished sessions stay as ghosts (3 s).
        let summary = try Bench([
            "churn", "-k", "40", "-c", "5", "--ids", "10", "-m", "vanish", "--settle", "5s",
            "--server", Self.servers(nodes), "--id-prefix", "roam",
        ]).finish()
        #expect(summary["cycles"] as? Int == 40)
        #expect(summary["failures"] as? Int == 0)
        #expect(summary["servers"] as? Int == 2)
        // Without CAP_NET_ADMIN vanish falls back to RST: no ghost is left to take over.
        if summary["vanish_fell_back_to_abort"] as? Int == 0 {
            #expect(await eventually { (try? rig.events().contains { $0.event == "replaced" }) == true })
            let takeovers = nodes.map { $0.lines(containing: "cluster: took roam-").count }.reduce(0, +)
            #expect(takeovers > 0)
        }
        // Every ghost is reaped or replaced: nothing left anywhere, and Redis agrees with the nodes.
        #expect(await eventually(within: 10) { (try? rig.records()) == [:] })
        #expect(try rig.localClients("a").isEmpty && rig.localClients("b").isEmpty)
    }

    @Test func aServerListWithABadAddressIsRefused() async throws {
        let bench = try Bench(["hold", "-n", "1", "--server", "127.0.0.1:1,localhost:2"])
        bench.process.waitUntilExit()
        #expect(bench.process.terminationStatus == 64)
    }
}
