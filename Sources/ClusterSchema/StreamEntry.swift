// One entry of the `<prefix>events` stream: a presence event of some node, as fields
//
//   v=1  event=online  node=n1  seq=41  time_ms=1748764800000  id=dev-1  peer=10.0.0.7:51234
//   reason=  duration_ms=0  [by=n2]  [count=17]
//
// `event` is online, offline, replaced, restarted (a node's own events) or node-lost. `seq` is the
// node's own counter. An `offline` with reason `node-lost` is written by the survivor that cleaned
// up after `node` (`by`), with that session's online seq; the one `node-lost` entry per lost node has
// no id and carries `count`, how many clients went offline with it. The stream's entry ids order
// events across nodes.

public struct StreamEntry: Sendable, Equatable {
    public static let version = "1"

    public var event: String
    public var node: String
    public var seq: UInt64
    public var timeMS: UInt64
    public var id: String
    public var peer: String
    public var reason: String
    public var durationMS: UInt64
    /// The survivor that wrote a node-lost entry; "" otherwise.
    public var by: String
    /// node-lost: the clients that went offline with the node.
    public var count: UInt64

    public init(
        event: String, node: String, seq: UInt64, timeMS: UInt64, id: String = "", peer: String = "",
        reason: String = "", durationMS: UInt64 = 0, by: String = "", count: UInt64 = 0
    ) {
        self.event = event
        self.node = node
        self.seq = seq
        self.timeMS = timeMS
        self.id = id
        self.peer = peer
        self.reason = reason
        self.durationMS = durationMS
        self.by = by
        self.count = count
    }

    /// Name, value, … for XADD.
    public var fields: [String] {
        var fields = [
            "v", Self.version, "event", event, "node", node, "seq", "\(seq)", "time_ms", "\(timeMS)", "id", id,
            "peer", peer, "reason", reason, "duration_ms", "\(durationMS)",
        ]
        if !by.isEmpty { fields += ["by", by] }
        if event == "node-lost" { fields += ["count", "\(count)"] }
        return fields
    }

    /// True when the entry is `node`'s own and has neither `by` nor `count`: `append` can take it as
    /// seven values, with `node` once per call (the link writes them: `Argv.append(_:isShort:)`).
    public func isShort(for node: String) -> Bool { self.node == node && by.isEmpty && event != "node-lost" }

    public init(fields: [String: String]) throws(SchemaError) {
        let version = fields["v"] ?? ""
        guard version == Self.version else { throw .otherVersion(version) }
        event = try text(fields, "event")
        node = try text(fields, "node")
        seq = try number(fields, "seq")
        timeMS = try number(fields, "time_ms")
        id = fields["id"] ?? ""
        peer = fields["peer"] ?? ""
        reason = fields["reason"] ?? ""
        durationMS = fields["duration_ms"].flatMap { UInt64($0) } ?? 0
        by = fields["by"] ?? ""
        count = fields["count"].flatMap { UInt64($0) } ?? 0
    }
}
