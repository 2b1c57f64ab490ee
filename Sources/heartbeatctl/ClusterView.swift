// `clients --cluster`, `client ID --cluster`, `watch --cluster`: the cluster's view, read from Redis
// with hiredis's blocking API (docs/design.md, "Cluster: keys"). A record or entry this version
// cannot read is reported on stderr and skipped.
import ArgumentParser
import ClusterSchema
import ControlProtocol
import Hiredis
import Posix

struct ClusterOptions: ParsableArguments {
    @Flag(name: .long, help: "Read the cluster's view from Redis instead of asking this daemon.")
    var cluster = false

    @Option(
        name: .long, help: ArgumentHelp("Redis: host:port or unix:/path ($HEARTBEATD_REDIS).", valueName: "address"))
    var redis = environment("HEARTBEATD_REDIS") ?? "127.0.0.1:6379"

    @Option(name: .long, help: ArgumentHelp("The cluster's key prefix ([cluster] prefix).", valueName: "prefix"))
    var prefix = "heartbeatd:"

    @Option(name: .long, help: ArgumentHelp("A file whose first line is Redis's password.", valueName: "file"))
    var redisPasswordFile: String?

    func connect(timeoutMilliseconds: Int = 5_000) throws(HeartbeatctlError) -> BlockingRedis {
        let endpoint: RedisEndpoint
        switch RedisEndpoint.parse(redis) {
        case .success(let parsed): endpoint = parsed
        case .failure(let error): throw .redis("\(error)")
        }
        var password: String?
        if let path = redisPasswordFile {
            do throws(SystemError) {
                let bytes = try FileSystem.read(path, limit: 4_096)
                password = String(decoding: bytes.prefix { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
            } catch {
                throw .redis("password file \(path): \(error.errno.meaning)")
            }
        }
        do {
            return try BlockingRedis(endpoint, password: password, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .redis("\(error)")
        }
    }
}

enum ClusterView {
    /// Every client record, sorted by id.
    static func records(_ redis: BlockingRedis, keys: ClusterKeys) throws(HeartbeatctlError) -> [(
        String, PresenceRecord
    )] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let reply = try ask(redis, ["SCAN", cursor, "MATCH", keys.clientPattern, "COUNT", "1000"])
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].text,
                let names = parts[1].elements
            else { throw .redis("unexpected reply to SCAN: \(reply.kindName)") }
            cursor = next
            found += names.compactMap(\.text)
        } while cursor != "0"
        var records: [(String, PresenceRecord)] = []
        for chunk in stride(from: 0, to: found.count, by: 500) {
            let batch = Array(found[chunk..<min(chunk + 500, found.count)])
            let replies: [RedisValue]
            do { replies = try redis.pipeline(batch.map { ["HGETALL", $0] }) } catch { throw .redis("\(error)") }
            for (key, reply) in zip(batch, replies) {
                guard let id = keys.id(inClientKey: key) else { continue }
                if let record = decode(key, reply) { records.append((id, record)) }
            }
        }
        return records.sorted { $0.0 < $1.0 }
    }

    static func record(_ redis: BlockingRedis, keys: ClusterKeys, id: String) throws(HeartbeatctlError)
        -> PresenceRecord?
    {
        let reply = try ask(redis, ["HGETALL", keys.client(id)])
        if reply.elements?.isEmpty == true { return nil }
        return decode(keys.client(id), reply)
    }

    private static func decode(_ key: String, _ reply: RedisValue) -> PresenceRecord? {
        guard let fields = reply.fieldMap else {
            Output.error("skipped \(key): \(reply.kindName), not a record")
            return nil
        }
        if fields.isEmpty { return nil }
        do throws(SchemaError) {
            return try PresenceRecord(fields: fields)
        } catch {
            Output.error("skipped \(key): \(error)")
            return nil
        }
    }

    static func json(_ id: String, _ record: PresenceRecord) -> JSONObject {
        var object = JSONObject()
        object["id"] = .string(id)
        object["node"] = .string(record.node)
        object["peer"] = .string(record.peer)
        object["since"] = .string(TimeText.timestamp(milliseconds: record.sinceMS))
        object["since_ms"] = .integer(Int64(clamping: record.sinceMS))
        object["seq"] = .integer(Int64(clamping: record.seq))
        object["session"] = .string(record.session)
        return object
    }

    static func line(_ id: String, _ record: PresenceRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        json(id, record).appendLine(to: &bytes)
        return Array(bytes.dropLast())
    }

    static func table(_ records: [(String, PresenceRecord)]) -> [[String]] {
        [["ID", "NODE", "PEER", "CONNECTED SINCE"]]
            + records.map { [$0.0, $0.1.node, $0.1.peer, TimeText.timestamp(milliseconds: $0.1.sinceMS)] }
    }

    static func ask(_ redis: BlockingRedis, _ words: [String]) throws(HeartbeatctlError) -> RedisValue {
        let reply: RedisValue
        do { reply = try redis.command(words) } catch { throw .redis("\(error)") }
        if let error = reply.errorText { throw .redis("Redis answered \(words[0]): \(error)") }
        return reply
    }
}
