// The STATUS= line systemd shows: "1843 clients · 12 reaped/min (timeout 9, eof 3) · 0 overload".
import ServerCore

struct StatusLine {
    /// Reap totals of the last minute, one sample a second, to count reaps per minute.
    private var samples: [(at: UInt64, reaps: [Reason: UInt64])] = []
    var lastSent = ""

    mutating func text(for snapshot: Snapshot, now: UInt64) -> String {
        samples.append((now, snapshot.reaps))
        while let first = samples.first, now - first.at > 60_000_000_000 { samples.removeFirst() }
        let base = samples.first?.reaps ?? [:]
        var perMinute: [(Reason, UInt64)] = []
        for reason in Reason.allCases {
            let delta = snapshot.reaps[reason, default: 0] - base[reason, default: 0]
            if delta > 0 { perMinute.append((reason, delta)) }
        }
        let reaped = perMinute.reduce(0) { $0 + $1.1 }
        var line = "\(snapshot.identified) clients"
        let pending = snapshot.connected - snapshot.identified
        if pending > 0 { line += " (+\(pending) before HELLO)" }
        line += " · \(reaped) reaped/min"
        if !perMinute.isEmpty {
            line +=
                " (" + perMinute.sorted { $0.1 > $1.1 }.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ") + ")"
        }
        line += " · \(snapshot.reaps[.overload, default: 0]) overload"
        return line
    }
}
