// `watch --cluster`: the events stream, live (XREAD from now on) or through a consumer group
// (XREADGROUP): at least once, resumable — a reader that restarts with the same --group and
// --consumer first gets what it was given and had not acknowledged, then what came since.
import ClusterSchema
import ControlProtocol
import Hiredis

enum ClusterWatch {
    static func run(_ options: ClusterOptions, group: String?, consumer: String, json: Bool) throws(HeartbeatctlError) {
        let redis = try options.connect(timeoutMilliseconds: 10_000)
        let keys = ClusterKeys(prefix: options.prefix)
        guard let group else {
            var last = "$"
            while true {
                let reply = try ClusterView.ask(
                    redis, ["XREAD", "COUNT", "500", "BLOCK", "2000", "STREAMS", keys.events, last])
                for (entryID, fields) in entries(reply) {
                    last = entryID
                    show(entryID, fields, json: json)
                }
            }
        }
        let created = try? ClusterView.ask(redis, ["XGROUP", "CREATE", keys.events, group, "$", "MKSTREAM"])
        _ = created // BUSYGROUP: the group exists, which is what a resumed reader wants
        // First what this consumer was given before and did not acknowledge, then new entries.
        var position = "0"
        while true {
            let reply = try ClusterView.ask(
                redis,
                [
                    "XREADGROUP", "GROUP", group, consumer, "COUNT", "500", "BLOCK", "2000", "STREAMS", keys.events,
                    position,
                ])
            let batch = entries(reply)
            if position == "0", batch.isEmpty { position = ">" }
            for (entryID, fields) in batch {
                show(entryID, fields, json: json)
                _ = try ClusterView.ask(redis, ["XACK", keys.events, group, entryID])
            }
        }
    }

    /// XREAD's reply: [[stream, [[id, [field, value, …]], …]]]; nil (a timeout) is no entries.
    private static func entries(_ reply: RedisValue) -> [(String, RedisValue)] {
        guard let streams = reply.elements, let first = streams.first?.elements, first.count == 2,
            let list = first[1].elements
        else { return [] }
        return list.compactMap { item in
            guard let parts = item.elements, parts.count == 2, let entryID = parts[0].text else { return nil }
            return (entryID, parts[1])
        }
    }

    private static func show(_ entryID: String, _ fields: RedisValue, json: Bool) {
        guard let map = fields.fieldMap else {
            // An entry deleted while pending comes back with nil fields.
            return Output.error("skipped stream entry \(entryID): \(fields.kindName)")
        }
        let entry: StreamEntry
        do throws(SchemaError) { entry = try StreamEntry(fields: map) } catch {
            return Output.error("skipped stream entry \(entryID): \(error)")
        }
        if !json {
            let what = entry.id.isEmpty ? "\(entry.count) clients" : "\(entry.id) \(entry.peer)"
            let why = entry.reason.isEmpty ? "" : " (\(entry.reason))"
            let by = entry.by.isEmpty ? "" : " by \(entry.by)"
            return Output.line(
                "\(TimeText.timestamp(milliseconds: entry.timeMS)) \(entry.event) \(what) on \(entry.node)\(why)\(by)")
        }
        var object = JSONObject()
        object["stream_id"] = .string(entryID)
        object["event"] = .string(entry.event)
        object["node"] = .string(entry.node)
        object["seq"] = .integer(Int64(clamping: entry.seq))
        object["time"] = .string(TimeText.timestamp(milliseconds: entry.timeMS))
        object["time_ms"] = .integer(Int64(clamping: entry.timeMS))
        object["id"] = entry.id.isEmpty ? .null : .string(entry.id)
        object["peer"] = entry.peer.isEmpty ? .null : .string(entry.peer)
        object["reason"] = entry.reason.isEmpty ? .null : .string(entry.reason)
        object["duration_ms"] = .integer(Int64(clamping: entry.durationMS))
        if !entry.by.isEmpty { object["by"] = .string(entry.by) }
        if entry.event == "node-lost" { object["count"] = .integer(Int64(clamping: entry.count)) }
        var line: [UInt8] = []
        object.appendLine(to: &line)
        Output.line(bytes: Array(line.dropLast()))
    }
}
