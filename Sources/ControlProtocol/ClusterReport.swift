// The cluster link's part of `status` (present only when `[cluster] redis` is set):
//
//   "cluster":{"node":"n1","state":"up","lag_ms":0,"in_flight":0,"buffered":0,"dropped":0,
//              "held":1840,"reconciles":1,"takeovers":0,"node_lost_clients":0,"bad_replies":0}

public struct ClusterReport: Sendable, Equatable, Decodable {
    public var node: String
    /// down, connecting, lease-wait, reconciling, up.
    public var state: String
    public var lagMS: UInt64
    public var inFlight: Int
    public var buffered: Int
    public var dropped: UInt64
    public var held: Int
    public var reconciles: UInt64
    public var takeovers: UInt64
    public var nodeLostClients: UInt64
    public var badReplies: UInt64

    public init(
        node: String, state: String, lagMS: UInt64, inFlight: Int, buffered: Int, dropped: UInt64, held: Int,
        reconciles: UInt64, takeovers: UInt64, nodeLostClients: UInt64, badReplies: UInt64
    ) {
        self.node = node
        self.state = state
        self.lagMS = lagMS
        self.inFlight = inFlight
        self.buffered = buffered
        self.dropped = dropped
        self.held = held
        self.reconciles = reconciles
        self.takeovers = takeovers
        self.nodeLostClients = nodeLostClients
        self.badReplies = badReplies
    }

    enum CodingKeys: String, CodingKey {
        case node, state, buffered, dropped, held, reconciles, takeovers
        case lagMS = "lag_ms"
        case inFlight = "in_flight"
        case nodeLostClients = "node_lost_clients"
        case badReplies = "bad_replies"
    }

    public var json: JSONObject {
        var object = JSONObject()
        object["node"] = .string(node)
        object["state"] = .string(state)
        object["lag_ms"] = .integer(Int64(clamping: lagMS))
        object["in_flight"] = .integer(Int64(inFlight))
        object["buffered"] = .integer(Int64(buffered))
        object["dropped"] = .integer(Int64(clamping: dropped))
        object["held"] = .integer(Int64(held))
        object["reconciles"] = .integer(Int64(clamping: reconciles))
        object["takeovers"] = .integer(Int64(clamping: takeovers))
        object["node_lost_clients"] = .integer(Int64(clamping: nodeLostClients))
        object["bad_replies"] = .integer(Int64(clamping: badReplies))
        return object
    }
}
