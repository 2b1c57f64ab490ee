// One connected client as `clients`, `client` and `kick` report it: who, from where, since when, how
// recently heard and on which worker. A record line of `clients`; the body of `client` and `kick` answers.
//
//   {"id":"dev-1","peer":"10.0.0.7:51234","worker":0,"interval_ms":10000,"timeout_ms":30000,
//    "connected_at":"2025-06-01T08:00:00.000Z","connected_at_ms":1748764800000,"last_heard_ms_ago":2140}

public struct ClientInfo: Sendable, Equatable {
    public var id: String
    public var peer: String
    public var worker: Int
    public var intervalMS: UInt64
    public var timeoutMS: UInt64
    /// Wall-clock milliseconds since the epoch when the session was accepted.
    public var connectedAtMS: UInt64
    /// How long ago the last heartbeat (or the HELLO) arrived when the worker answered.
    public var lastHeardMSAgo: UInt64

    public init(
        id: String, peer: String, worker: Int, intervalMS: UInt64, timeoutMS: UInt64, connectedAtMS: UInt64,
        lastHeardMSAgo: UInt64
    ) {
        self.id = id
        self.peer = peer
        self.worker = worker
        self.intervalMS = intervalMS
        self.timeoutMS = timeoutMS
        self.connectedAtMS = connectedAtMS
        self.lastHeardMSAgo = lastHeardMSAgo
    }

    /// The members, in the order above; `into` lets an answer put `"ok":true` first.
    public func json(into object: JSONObject = JSONObject()) -> JSONObject {
        var object = object
        object["id"] = .string(id)
        object["peer"] = .string(peer)
        object["worker"] = .integer(Int64(worker))
        object["interval_ms"] = .integer(Int64(clamping: intervalMS))
        object["timeout_ms"] = .integer(Int64(clamping: timeoutMS))
        object["connected_at"] = .string(TimeText.timestamp(milliseconds: connectedAtMS))
        object["connected_at_ms"] = .integer(Int64(clamping: connectedAtMS))
        object["last_heard_ms_ago"] = .integer(Int64(clamping: lastHeardMSAgo))
        return object
    }
}

extension ClientInfo: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, peer, worker
        case intervalMS = "interval_ms"
        case timeoutMS = "timeout_ms"
        case connectedAtMS = "connected_at_ms"
        case lastHeardMSAgo = "last_heard_ms_ago"
    }

    /// Reads a record or a `client`/`kick` answer; other members (`ok`, `connected_at`, new ones) are ignored.
    public init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        id = try members.decode(String.self, forKey: .id)
        peer = try members.decode(String.self, forKey: .peer)
        worker = Int(try members.count(.worker))
        intervalMS = try members.count(.intervalMS)
        timeoutMS = try members.count(.timeoutMS)
        connectedAtMS = try members.count(.connectedAtMS)
        lastHeardMSAgo = try members.count(.lastHeardMSAgo)
    }
}
