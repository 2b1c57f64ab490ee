// Bad input from Redis is input too (logged, skipped, never a crash), a Redis that forgot the scripts
// (NOSCRIPT), and the bounded event buffer while Redis is away (dropped events counted, one log line).
import ClusterSchema
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ClusterInputTests {
    /// On a single Redis (one `turn` call per loop turn) and on a Redis Cluster (a script per record).
    @Test(arguments: [false, true]) func aKeyThatIsNotAHashIsLoggedAndSkipped(redisCluster: Bool) async throws {
        let rig = try await ClusterRig(redisCluster: redisCluster)
        let node = try await rig.start("a")
        _ = try rig.client().command(["SET", rig.keys.client("odd"), "not a hash"])
        _ = try rig.client().command(["HSET", rig.keys.client("future"), "v", "9", "node", "zz"])
        let odd = try await identifiedClient("odd", port: node.port)
        #expect(await node.waitForLog("is not a hash; skipped") != nil)
        // The daemon goes on serving, and the key is left as it was.
        let fine = try await identifiedClient("fine", port: node.port)
        #expect(await eventually { (try? rig.records())?["fine"] == "a" })
        #expect(try rig.client().command(["TYPE", rig.keys.client("odd")]) == .status("string"))
        // heartbeatctl skips what it cannot read and lists the rest.
        let view = try rig.heartbeatctl([
            "clients", "--cluster", "--redis", rig.redis.address, "--prefix", rig.prefix, "--json",
        ])
        #expect(view.status == 0)
        #expect(view.output.split(separator: "\n").count == 1 && view.output.contains("\"id\":\"fine\""))
        let status = try rig.heartbeatctl(["--socket", rig.socket("a"), "status", "--json"])
        #expect(!status.output.contains("\"bad_replies\":0"))
        _ = (odd, fine)
    }

    /// On a single Redis (one `turn` call per loop turn) and on a Redis Cluster (a script per record).
    /// The stream's key holds a string: presence goes on, the entries are skipped and counted.
    @Test(arguments: [false, true]) func aStreamKeyThatIsNotAStreamIsLoggedAndSkipped(redisCluster: Bool) async throws {
        let rig = try await ClusterRig(redisCluster: redisCluster)
        _ = try rig.client().command(["SET", rig.keys.events, "not a stream"])
        let node = try await rig.start("a")
        let client = try await identifiedClient("dev", port: node.port)
        #expect(await eventually { (try? rig.records()) == ["dev": "a"] })
        #expect(await node.waitForLog("\(rig.keys.events) is not a stream") != nil)
        client.closeSocket()
        #expect(await eventually { (try? rig.records()) == [:] })
        #expect(try rig.client().command(["GET", rig.keys.events]).text == "not a stream")
        let status = try rig.heartbeatctl(["--socket", rig.socket("a"), "status", "--json"])
        #expect(!status.output.contains("\"bad_replies\":0"))
    }

    /// On a single Redis (one `turn` call per loop turn) and on a Redis Cluster (a script per record).
    @Test(arguments: [false, true]) func scriptsFlushedWhileConnectedAreRunFromTheirSource(redisCluster: Bool)
        async throws
    {
        let rig = try await ClusterRig(redisCluster: redisCluster)
        let node = try await rig.start("a")
        _ = try rig.client().command(["SCRIPT", "FLUSH"])
        _ = try rig.client().command(["CONFIG", "RESETSTAT"])
        // Each script call (claim, release and append; or turn) gets NOSCRIPT once and goes again as EVAL.
        // The lease's calls go on too (a rare path's call keeps its words for that retry; the next tick's
        // call is an EVAL in any case): its SET, as only the lease script sets a key here, shows one ran.
        #expect(
            await eventually {
                (try? rig.client().command(["INFO", "commandstats"]).text)?.contains("cmdstat_set:") == true
            })
        let client = try await identifiedClient("flushed", port: node.port)
        #expect(await eventually { (try? rig.records()) == ["flushed": "a"] })
        client.closeSocket()
        #expect(await eventually { (try? rig.records()) == [:] })
        #expect(await eventually { (try? rig.events().map(\.event)) == ["online", "offline"] })
        let status = try rig.heartbeatctl(["--socket", rig.socket("a"), "status", "--json"])
        #expect(status.output.contains("\"bad_replies\":0"), "\(status.output)")
    }

    @Test func eventsBeyondTheBufferAreDroppedAndCounted() async throws {
        let rig = try await ClusterRig()
        let node = try await rig.start("a", buffer: 2)
        rig.redis.stop()
        for index in 0..<3 { try await identifiedClient("b-\(index)", port: node.port).closeSocket() }
        #expect(await node.waitForLog("event buffer full (2)") != nil)
        // Six events (three online, three offline) reach the link one by one: two fit, four are dropped.
        var status = try rig.heartbeatctl(["--socket", rig.socket("a"), "status", "--json"])
        let counted = await eventually(within: 10) {
            status = (try? rig.heartbeatctl(["--socket", rig.socket("a"), "status", "--json"])) ?? status
            return status.output.contains("\"buffered\":2,\"dropped\":4")
        }
        #expect(counted, "\(status.output)")
        #expect(node.lines(containing: "event buffer full").count == 1)
        // Back: the buffered two reach the stream; presence is reconciled (nobody is online).
        try await rig.redis.restart()
        #expect(await eventually(within: 10) { (try? rig.events().count) == 2 })
        #expect(try rig.records() == [:])
    }
}
