// Presence through Redis with real daemons: records appear and go, a takeover from node A to node B,
// and the cluster's view through heartbeatctl --cluster.
import ClusterSchema
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ClusterPresenceTests {
    /// On a single Redis (one `turn` call per loop turn) and on a Redis Cluster (a script per record).
    @Test(arguments: [false, true]) func presenceAppearsAndDisappears(redisCluster: Bool) async throws {
        let rig = try await ClusterRig(redisCluster: redisCluster)
        let node = try await rig.start("n1")
        // The node asked Redis what it is, and chose its path.
        let path = redisCluster ? "is a Redis Cluster; one script call per client record" : "in one script call"
        #expect(await node.waitForLog(path) != nil)
        let client = try await identifiedClient("dev-1", port: node.port)
        #expect(await eventually { (try? rig.records()) == ["dev-1": "n1"] })
        let ids = try rig.client().command(["SMEMBERS", rig.keys.ids("n1")])
        #expect(ids.elements?.compactMap(\.text) == ["dev-1"])
        #expect(try rig.client().command(["PTTL", rig.keys.lease("n1")]).integer.map { $0 > 0 } == true)
        // The claim's values land in their fields: the session is `<run>.<seq>` of the online's seq.
        let fields = try rig.client().command(["HGETALL", rig.keys.client("dev-1")]).fieldMap ?? [:]
        let record = try PresenceRecord(fields: fields)
        #expect(
            record.node == "n1" && record.peer.hasPrefix("127.0.0.1:") && record.session.hasSuffix(".\(record.seq)"))
        #expect(record.session.split(separator: ".").map { UInt64($0) != nil } == [true, true])

        let view = try rig.heartbeatctl([
            "clients", "--cluster", "--redis", rig.redis.address, "--prefix", rig.prefix, "--json",
        ])
        #expect(view.status == 0 && view.output.contains("\"id\":\"dev-1\",\"node\":\"n1\""))
        let one = try rig.heartbeatctl([
            "client", "dev-1", "--cluster", "--redis", rig.redis.address, "--prefix", rig.prefix,
        ])
        #expect(one.status == 0 && one.output.contains("on node n1"))

        client.closeSocket()
        #expect(await eventually { (try? rig.records()) == [:] })
        // The offline entry follows the release's answer (its event says whether the id is really gone),
        // so it may reach the stream a moment after the record is deleted.
        #expect(await eventually { (try? rig.events().map(\.event)) == ["online", "offline"] })
        // Each entry's values in their fields (the link writes them in `append`'s order).
        let entries = try rig.events()
        #expect(entries.map(\.id) == ["dev-1", "dev-1"] && entries.map(\.node) == ["n1", "n1"])
        #expect(entries[0].seq == record.seq && entries[0].timeMS == record.sinceMS && entries[0].peer == record.peer)
        #expect(entries[0].reason == "" && entries[0].durationMS == 0)
        #expect(
            entries[1].seq > record.seq && ["eof", "reset"].contains(entries[1].reason)
                && entries[1].peer == record.peer)
        #expect(entries[1].timeMS >= entries[0].timeMS)
        // The append script writes exactly the fields StreamEntry.fields names, in that order.
        for item in try rig.client().command(["XRANGE", rig.keys.events, "-", "+"]).elements ?? [] {
            let written = item.elements?.last
            let fields = written?.elements?.compactMap(\.text) ?? []
            #expect(try StreamEntry(fields: written?.fieldMap ?? [:]).fields == fields)
        }
        let missing = try rig.heartbeatctl([
            "client", "dev-1", "--cluster", "--redis", rig.redis.address, "--prefix", rig.prefix,
        ])
        #expect(missing.status == 1)
    }

    /// On a single Redis (one `turn` call per loop turn) and on a Redis Cluster (a script per record).
    @Test(arguments: [false, true]) func takeoverFromNodeAToNodeB(redisCluster: Bool) async throws {
        let rig = try await ClusterRig(redisCluster: redisCluster)
        let a = try await rig.start("a")
        let b = try await rig.start("b")
        let first = try await identifiedClient("roamer", port: a.port)
        #expect(await eventually { (try? rig.records()) == ["roamer": "a"] })

        let second = try await identifiedClient("roamer", port: b.port)
        #expect(await first.readLine(within: 5) == "BYE replaced")
        #expect(await eventually { (try? rig.records()) == ["roamer": "b"] })
        #expect(await eventually { (try? rig.localClients("a")) == [] })
        #expect(try rig.localClients("b") == ["roamer"])
        // One online per session, and the old one replaced — never offline.
        #expect(await eventually { (try? rig.events().map(\.event)) == ["online", "online", "replaced"] })
        let events = try rig.events()
        #expect(events.map(\.node) == ["a", "b", "a"])
        #expect(a.lines(containing: "client offline", "roamer").isEmpty)
        #expect(!a.lines(containing: "client replaced", "roamer").isEmpty)
        #expect(try rig.client().command(["SMEMBERS", rig.keys.ids("a")]).elements?.isEmpty == true)
        _ = second
    }

    @Test func statusAndMetricsShowTheLink() async throws {
        let rig = try await ClusterRig()
        _ = try await rig.start("n1")
        let status = try rig.heartbeatctl(["--socket", rig.socket("n1"), "status", "--json"])
        #expect(status.output.contains("\"cluster\":{\"node\":\"n1\",\"state\":\"up\""))
        // Every command sent so far (AUTH, the scripts, the reconcile, the lease) was answered and counted.
        let settled = await eventually {
            let output = (try? rig.heartbeatctl(["--socket", rig.socket("n1"), "status", "--json"]))?.output ?? ""
            return output.contains("\"state\":\"up\"") && output.contains("\"in_flight\":0,")
        }
        #expect(settled, "the link's in-flight count goes back to 0 once Redis has answered")
    }
}
