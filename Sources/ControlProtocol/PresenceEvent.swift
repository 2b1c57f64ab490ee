// A presence event: a client came online, went offline, or had its session replaced by a newer one.
// Workers make them; the daemon streams them to `watch` as one line each:
//
//   {"seq":41,"event":"offline","time":"2025-06-01T08:00:05.120Z","time_ms":1748764805120,
//    "id":"dev-1","peer":"10.0.0.7:51234","worker":0,"reason":"timeout","duration_ms":5120}
//
// `seq` counts every event of this daemon from 1, in the order the id registry saw them; the log line
// of the same event carries the same `seq`. An `online` has `"reason":null` and `"duration_ms":0`;
// a `kick --reason` text comes as `"note"`.
//
// A `restarted` event stands for a whole takeover (restart or upgrade that kept the sessions): one event
// instead of an offline and an online per client, `"id":""`, `duration_ms` the gap, and the counts:
//   {"seq":42,"event":"restarted",...,"restored":15000,"orphaned":0,"lost":2}

public struct PresenceEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A HELLO was accepted: the id is present.
        case online
        /// A session ended and no newer session holds its id: the id is absent.
        case offline
        /// A session ended while a newer session holds its id: the id stays present.
        case replaced
        /// The daemon was replaced by a successor that kept its sessions (see `restart`).
        case restarted
    }

    /// A takeover's counts: sessions restored, connections ended for want of state, records whose
    /// connection did not come back.
    public struct Restart: Sendable, Equatable {
        public var restored: Int
        public var orphaned: Int
        public var lost: Int
        public init(restored: Int, orphaned: Int, lost: Int) {
            self.restored = restored
            self.orphaned = orphaned
            self.lost = lost
        }
    }

    public var seq: UInt64
    public var kind: Kind
    /// Wall-clock milliseconds since the epoch when it happened.
    public var timeMS: UInt64
    public var id: String
    public var peer: String
    public var worker: Int
    /// The reap reason (`eof`, `timeout`, `replaced`, `kicked`…); nil for `online`.
    public var reason: String?
    /// How long the session lasted; 0 for `online`.
    public var durationMS: UInt64
    /// The operator's `kick --reason` text.
    public var note: String?
    /// Only on `restarted`.
    public var restart: Restart?

    public init(
        seq: UInt64, kind: Kind, timeMS: UInt64, id: String, peer: String, worker: Int, reason: String? = nil,
        durationMS: UInt64 = 0, note: String? = nil
    ) {
        self.seq = seq
        self.kind = kind
        self.timeMS = timeMS
        self.id = id
        self.peer = peer
        self.worker = worker
        self.reason = reason
        self.durationMS = durationMS
        self.note = note
    }

    public var json: JSONObject {
        var object = JSONObject()
        object["seq"] = .integer(Int64(clamping: seq))
        object["event"] = .string(kind.rawValue)
        object["time"] = .string(TimeText.timestamp(milliseconds: timeMS))
        object["time_ms"] = .integer(Int64(clamping: timeMS))
        object["id"] = .string(id)
        object["peer"] = .string(peer)
        object["worker"] = .integer(Int64(worker))
        object["reason"] = reason.map { .string($0) } ?? .null
        object["duration_ms"] = .integer(Int64(clamping: durationMS))
        if let note { object["note"] = .string(note) }
        if let restart {
            object["restored"] = .integer(Int64(restart.restored))
            object["orphaned"] = .integer(Int64(restart.orphaned))
            object["lost"] = .integer(Int64(restart.lost))
        }
        return object
    }
}

extension PresenceEvent: Decodable {
    enum CodingKeys: String, CodingKey {
        case seq, event, id, peer, worker, reason, note, restored, orphaned, lost
        case timeMS = "time_ms"
        case durationMS = "duration_ms"
    }

    public init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        seq = try members.count(.seq)
        let name = try members.decode(String.self, forKey: .event)
        guard let kind = Kind(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                forKey: .event, in: members, debugDescription: "is an unknown event \(name.debugDescription)")
        }
        self.kind = kind
        timeMS = try members.count(.timeMS)
        id = try members.decode(String.self, forKey: .id)
        peer = try members.decode(String.self, forKey: .peer)
        worker = Int(try members.count(.worker))
        reason = try members.decodeIfPresent(String.self, forKey: .reason)
        durationMS = try members.count(.durationMS)
        note = try members.decodeIfPresent(String.self, forKey: .note)
        if kind == .restarted, members.contains(.restored) {
            restart = Restart(
                restored: Int(try members.count(.restored)), orphaned: Int(try members.count(.orphaned)),
                lost: Int(try members.count(.lost)))
        }
    }
}
