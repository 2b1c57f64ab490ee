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

    public init(id: String, peer: String, worker: Int, intervalMS: UInt64, timeoutMS: UInt64, connectedAtMS: UInt64, lastHeardMSAgo: UInt64) {
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

    public init(json object: JSONObject) throws(ControlError) {
        id = try object.required("id")
        peer = try object.required("peer")
        worker = Int(try object.requiredCount("worker"))
        intervalMS = try object.requiredCount("interval_ms")
        timeoutMS = try object.requiredCount("timeout_ms")
        connectedAtMS = try object.requiredCount("connected_at_ms")
        lastHeardMSAgo = try object.requiredCount("last_heard_ms_ago")
    }
}

extension JSONObject {
    /// A string member an answer must have.
    func required(_ key: String) throws(ControlError) -> String {
        guard let value = string(key) else { throw .badAnswer("the answer has no string \(key.debugDescription)") }
        return value
    }

    /// A non-negative integer member an answer must have.
    func requiredCount(_ key: String) throws(ControlError) -> UInt64 {
        guard let value = integer(key), value >= 0 else {
            throw .badAnswer("the answer has no non-negative integer \(key.debugDescription)")
        }
        return UInt64(value)
    }
}
