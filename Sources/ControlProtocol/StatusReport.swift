// The answer to `status`: what the daemon is, how long it has run, and its counters.
//
//   {"ok":true,"version":"0.1.0","pid":812,"started_at":"…","started_at_ms":…,"uptime_ms":93000,
//    "workers":2,"clients":1840,"connected":1843,"sessions_total":5120,"heartbeats_total":912345,
//    "reaps":{"eof":3,"reset":0,"timeout":9,…},"accept_errors":{"EMFILE":2},
//    "config_file":"/etc/heartbeatd/heartbeatd.toml","offline_grace_ms":0,"offline_held":0,"watchers":1}

public struct StatusReport: Sendable, Equatable {
    public var version: String
    public var pid: Int
    public var startedAtMS: UInt64
    public var uptimeMS: UInt64
    public var workers: Int
    /// Identified sessions: the clients.
    public var clients: Int
    /// Open sessions, identified or not.
    public var connected: Int
    public var sessionsTotal: UInt64
    public var heartbeatsTotal: UInt64
    /// Every reap reason, in the glossary's order, with its count since start.
    public var reaps: [(reason: String, count: UInt64)]
    public var acceptErrors: [(errno: String, count: UInt64)]
    /// nil when the daemon runs on built-in defaults.
    public var configFile: String?
    public var offlineGraceMS: UInt64
    /// Offline events waiting out `offline_grace` right now.
    public var offlineHeld: Int
    public var watchers: Int
    /// The Redis link, when the daemon is a cluster node.
    public var cluster: ClusterReport?

    public init(
        version: String, pid: Int, startedAtMS: UInt64, uptimeMS: UInt64, workers: Int, clients: Int, connected: Int,
        sessionsTotal: UInt64, heartbeatsTotal: UInt64, reaps: [(reason: String, count: UInt64)],
        acceptErrors: [(errno: String, count: UInt64)], configFile: String?, offlineGraceMS: UInt64, offlineHeld: Int,
        watchers: Int
    ) {
        self.version = version
        self.pid = pid
        self.startedAtMS = startedAtMS
        self.uptimeMS = uptimeMS
        self.workers = workers
        self.clients = clients
        self.connected = connected
        self.sessionsTotal = sessionsTotal
        self.heartbeatsTotal = heartbeatsTotal
        self.reaps = reaps
        self.acceptErrors = acceptErrors
        self.configFile = configFile
        self.offlineGraceMS = offlineGraceMS
        self.offlineHeld = offlineHeld
        self.watchers = watchers
    }

    public static func == (lhs: StatusReport, rhs: StatusReport) -> Bool {
        lhs.json == rhs.json
    }

    public var json: JSONObject {
        var object = JSONObject(["ok": .bool(true)])
        object["version"] = .string(version)
        object["pid"] = .integer(Int64(pid))
        object["started_at"] = .string(TimeText.timestamp(milliseconds: startedAtMS))
        object["started_at_ms"] = .integer(Int64(clamping: startedAtMS))
        object["uptime_ms"] = .integer(Int64(clamping: uptimeMS))
        object["workers"] = .integer(Int64(workers))
        object["clients"] = .integer(Int64(clients))
        object["connected"] = .integer(Int64(connected))
        object["sessions_total"] = .integer(Int64(clamping: sessionsTotal))
        object["heartbeats_total"] = .integer(Int64(clamping: heartbeatsTotal))
        var reapCounts = JSONObject()
        for (reason, count) in reaps { reapCounts[reason] = .integer(Int64(clamping: count)) }
        object["reaps"] = .object(reapCounts)
        var errorCounts = JSONObject()
        for (name, count) in acceptErrors { errorCounts[name] = .integer(Int64(clamping: count)) }
        object["accept_errors"] = .object(errorCounts)
        object["config_file"] = configFile.map { .string($0) } ?? .null
        object["offline_grace_ms"] = .integer(Int64(clamping: offlineGraceMS))
        object["offline_held"] = .integer(Int64(offlineHeld))
        object["watchers"] = .integer(Int64(watchers))
        if let cluster { object["cluster"] = .object(cluster.json) }
        return object
    }
}

extension StatusReport: Decodable {
    enum CodingKeys: String, CodingKey {
        case version, pid, workers, clients, connected, reaps, watchers, cluster
        case startedAtMS = "started_at_ms"
        case uptimeMS = "uptime_ms"
        case sessionsTotal = "sessions_total"
        case heartbeatsTotal = "heartbeats_total"
        case acceptErrors = "accept_errors"
        case configFile = "config_file"
        case offlineGraceMS = "offline_grace_ms"
        case offlineHeld = "offline_held"
    }

    /// `reaps` and `accept_errors` come back largest first (a JSON object has no order to keep).
    public init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        version = try members.decode(String.self, forKey: .version)
        pid = Int(try members.count(.pid))
        startedAtMS = try members.count(.startedAtMS)
        uptimeMS = try members.count(.uptimeMS)
        workers = Int(try members.count(.workers))
        clients = Int(try members.count(.clients))
        connected = Int(try members.count(.connected))
        sessionsTotal = try members.count(.sessionsTotal)
        heartbeatsTotal = try members.count(.heartbeatsTotal)
        reaps = try members.counts(.reaps).map { (reason: $0.name, count: $0.count) }
        acceptErrors = try members.counts(.acceptErrors).map { (errno: $0.name, count: $0.count) }
        configFile = try members.decodeIfPresent(String.self, forKey: .configFile)
        offlineGraceMS = try members.count(.offlineGraceMS)
        offlineHeld = Int(try members.count(.offlineHeld))
        watchers = Int(try members.count(.watchers))
        cluster = try members.decodeIfPresent(ClusterReport.self, forKey: .cluster)
    }
}
