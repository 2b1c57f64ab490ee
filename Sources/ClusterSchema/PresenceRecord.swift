// A client's record in `<prefix>client:{<id>}`: which node holds its session, and that session's
// identity, so a late offline never erases a newer online (the release script compares `session`).
//
//   v=1  node=n1  session=1748764800000.41  peer=10.0.0.7:51234  since=1748764800000  seq=41
//
// `session` is `<run>.<seq>`: the node's run id (its start time in ms) and the seq of the session's
// `online` event, unique across the node's restarts. `since` is wall-clock ms of the HELLO.

public struct PresenceRecord: Sendable, Equatable {
    public static let version = "1"

    public var node: String
    public var session: String
    public var peer: String
    public var sinceMS: UInt64
    public var seq: UInt64

    public init(node: String, session: String, peer: String, sinceMS: UInt64, seq: UInt64) {
        self.node = node
        self.session = session
        self.peer = peer
        self.sinceMS = sinceMS
        self.seq = seq
    }

    /// `<run>.<seq>`.
    public static func session(run: UInt64, seq: UInt64) -> String { "\(run).\(seq)" }

    /// Name, value, name, value… in the order HSET and the scripts take them.
    public var fields: [String] {
        ["v", Self.version, "node", node, "session", session, "peer", peer, "since", "\(sinceMS)", "seq", "\(seq)"]
    }

    /// The values of `fields` without the version and the names, in their order: what `claim` takes.
    public var values: [String] { [node, session, peer, "\(sinceMS)", "\(seq)"] }

    /// Reads HGETALL's fields; a record of another version or with a bad field is an error to log and skip.
    public init(fields: [String: String]) throws(SchemaError) {
        let version = fields["v"] ?? ""
        guard version == Self.version else { throw .otherVersion(version) }
        node = try text(fields, "node")
        session = try text(fields, "session")
        peer = try text(fields, "peer")
        sinceMS = try number(fields, "since")
        seq = try number(fields, "seq")
    }
}
