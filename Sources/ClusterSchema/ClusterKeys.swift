// The cluster's key layout in Redis, one place for the daemon, heartbeatctl and anyone reading
// docs/design.md ("Cluster: keys"). Every per-client key has the id in a hash tag, every per-node
// key the node name, so each script touches one slot and the layout works on Redis Cluster too:
//
//   <prefix>client:{<id>}          hash    the client's record (PresenceRecord)
//   <prefix>node:{<node>}          string  the node's lease: its run id, with a TTL of `lease`
//   <prefix>node:{<node>}:ids      set     the ids the node announced (a hint; the record decides)
//   <prefix>node:{<node>}:reaper   string  the survivor cleaning up after the node (SET NX PX)
//   <prefix>node:{<node>}:takeover channel "<id> <session>": another node took that session's id
//   <prefix>{nodes}                set     every node name seen, for the survivors' lease check
//   <prefix>events                 stream  presence events (StreamEntry), MAXLEN ~ stream_maxlen

public struct ClusterKeys: Sendable, Equatable {
    public let prefix: String
    /// A client record's key is `clientHead`, the id, `clientTail`: the cluster link writes it in pieces
    /// (one per presence event) without making the key's String.
    public let clientHead: String
    public static let clientTail = "}"
    /// The events stream (made once: the link names it in every `append`).
    public let events: String

    public init(prefix: String) {
        self.prefix = prefix
        clientHead = "\(prefix)client:{"
        events = "\(prefix)events"
    }

    public func client(_ id: String) -> String { "\(clientHead)\(id)\(Self.clientTail)" }
    public func lease(_ node: String) -> String { "\(prefix)node:{\(node)}" }
    public func ids(_ node: String) -> String { "\(prefix)node:{\(node)}:ids" }
    public func reaper(_ node: String) -> String { "\(prefix)node:{\(node)}:reaper" }
    public func takeoverChannel(_ node: String) -> String { "\(prefix)node:{\(node)}:takeover" }
    public var nodes: String { "\(prefix){nodes}" }

    /// A SCAN MATCH pattern for every client record (glob characters in the prefix escaped).
    public var clientPattern: String { "\(Self.globEscaped(prefix))client:\\{*\\}" }

    /// The id in a client record's key; nil for any other key.
    public func id(inClientKey key: String) -> String? {
        guard key.hasPrefix(clientHead), key.hasSuffix(Self.clientTail) else { return nil }
        let id = key.dropFirst(clientHead.count).dropLast()
        return id.isEmpty ? nil : String(id)
    }

    /// Whether `text` may be a node name or key prefix: printable ASCII without braces (a brace would
    /// move the hash tag), spaces or glob characters. Node names are at most 64 bytes, prefixes 64.
    public static func isValidName(_ text: String, allowEmpty: Bool = false) -> Bool {
        if text.isEmpty { return allowEmpty }
        return text.utf8.count <= 64
            && text.utf8.allSatisfy { byte in
                byte > 0x20 && byte < 0x7F && !"{}*?[]\\\"'".utf8.contains(byte)
            }
    }

    private static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\{}".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
