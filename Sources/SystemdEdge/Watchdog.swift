// The service watchdog (WatchdogSec=): how often systemd expects `WATCHDOG=1`.
import CSystemd

public enum Watchdog {
    /// The watchdog timeout systemd enforces, or nil when the watchdog is off, WATCHDOG_USEC is malformed,
    /// or WATCHDOG_PID names another process. Callers ping every `interval / 2`, as sd_watchdog_enabled(3)
    /// advises, so one late loop turn does not get the daemon killed.
    /// The corresponding C function is `sd_watchdog_enabled(3)`.
    public static func interval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }
}
