// The successor's start, instant by instant on CLOCK_MONOTONIC: what the takeover's log line splits the time
// from this process's fork to its last restored session into, so a slow restart shows where it went.
import Posix
import ServerCore

struct StartTimeline {
    /// The fork (/proc/self/stat, 10 ms steps); nil after an upgrade's exec, which keeps the old fork's.
    var forked: UInt64?
    /// After exec and the dynamic loader, before Swift's main (a constructor in CLinux).
    let loaded = Clock.loadedNanoseconds
    /// `Heartbeatd.run`: the Swift runtime is up and the flags are parsed.
    var main: UInt64 = Clock.monotonicNanoseconds()
    /// Configuration, secrets, TLS files read.
    var configured: UInt64 = 0
    /// The descriptors systemd passed are named, and the sessions' sockets are out of their carriers.
    var passed: UInt64 = 0
    /// The state memfd is read and decoded.
    var decoded: UInt64 = 0
    /// `Server` is made: the descriptors sorted against the state (`TakeoverCounts.matching`), the
    /// listeners kept, the workers made.
    var built: UInt64 = 0
    /// The worker threads are running.
    var started: UInt64 = 0

    static func now() -> UInt64 { Clock.monotonicNanoseconds() }

    /// The takeover's timing, as the log line's parenthesis and its metadata (milliseconds).
    func split(_ counts: TakeoverCounts, _ restore: RestoreTiming) -> (text: String, metadata: [String: String]) {
        let origin = forked ?? loaded
        var parts: [(String, UInt64)] = []
        if let forked { parts.append(("exec", loaded &- forked)) }
        parts += [
            ("runtime", main &- loaded), ("config", configured &- main), ("store", passed &- configured),
            ("state", decoded &- passed), ("match", counts.matching),
            ("setup", built &- decoded &- counts.matching), ("start", started &- built),
            ("restore", restore.finishedAt &- started),
        ]
        let total = restore.finishedAt &- origin
        var text = "in \(Self.milliseconds(total)) ms from \(forked == nil ? "exec" : "fork"): "
        text += parts.map { "\($0.0) \(Self.milliseconds($0.1))" }.joined(separator: ", ")
        text += " ms; \(restore.rounds) restore rounds, \(Self.milliseconds(restore.registering)) ms registering"
        var metadata: [String: String] = ["start_ms": Self.milliseconds(total)]
        for (name, duration) in parts { metadata["\(name)_ms"] = Self.milliseconds(duration) }
        metadata["registering_ms"] = Self.milliseconds(restore.registering)
        metadata["rounds"] = "\(restore.rounds)"
        return (text, metadata)
    }

    /// Milliseconds with one decimal: the parts are a few ms each.
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
