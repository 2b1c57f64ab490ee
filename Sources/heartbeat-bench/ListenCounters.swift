// The kernel's counters of a storm at a listener, from /proc/net/netstat: what `nstat -az
// TcpExtListenOverflows TcpExtListenDrops TcpExtSyncookiesSent` prints. Per network namespace.
import Posix

struct ListenCounters {
    /// A full accept queue (backlog) turned a completed handshake away.
    var overflows: UInt64
    /// Every SYN or handshake dropped at a listener, overflows included.
    var drops: UInt64
    /// SYN cookies sent because the SYN queue (tcp_max_syn_backlog) was full.
    var syncookies: UInt64

    /// nil when /proc/net/netstat cannot be read or lacks the counters.
    static func read() -> ListenCounters? {
        guard let bytes = try? readFile("/proc/net/netstat") else { return nil }
        // Pairs of lines: "TcpExt: Name Name …" then "TcpExt: value value …".
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        let tcpExt = lines.filter { $0.hasPrefix("TcpExt:") }.map { $0.split(separator: " ").dropFirst() }
        guard tcpExt.count == 2 else { return nil }
        var values: [Substring: UInt64] = [:]
        for (name, value) in zip(tcpExt[0], tcpExt[1]) { values[name] = UInt64(value) }
        guard let overflows = values["ListenOverflows"], let drops = values["ListenDrops"],
            let syncookies = values["SyncookiesSent"]
        else { return nil }
        return ListenCounters(overflows: overflows, drops: drops, syncookies: syncookies)
    }
}
