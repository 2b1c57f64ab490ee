// Keeps a reconnect storm from flooding the log: up to `burst` session lines a second are written;
// past that they are counted, and one summary line a second says how many of each were held back.

struct SessionLogBudget {
    static let window: UInt64 = 1_000_000_000
    let burst: Int
    private var windowStart: UInt64 = 0
    private var used = 0
    private(set) var suppressed: [String: Int] = [:]

    init(burst: Int = 50) { self.burst = burst }

    /// Whether a line of `kind` may be written now; if not, it is counted for the summary.
    /// `startsSuppressing` is true for the first line held back in a window (arm the summary then).
    mutating func admit(_ kind: String, now: UInt64) -> (admitted: Bool, startsSuppressing: Bool) {
        if now &- windowStart >= Self.window, suppressed.isEmpty {
            windowStart = now
            used = 0
        }
        if used < burst {
            used += 1
            return (true, false)
        }
        let first = suppressed.isEmpty
        suppressed[kind, default: 0] += 1
        return (false, first)
    }

    /// When the summary is due.
    var summaryDeadline: UInt64 { windowStart + Self.window }

    /// Hands out the counts held back and opens a new window.
    mutating func takeSummary(now: UInt64) -> [String: Int] {
        defer {
            suppressed = [:]
            windowStart = now
            used = 0
        }
        return suppressed
    }
}
