// The clocks: monotonic nanoseconds for deadlines, wall-clock time for what people read.
import Glibc

public enum Clock {
    /// CLOCK_MONOTONIC in nanoseconds: never jumps; all deadlines are on it.
    /// It is also what systemd's MONOTONIC_USEC expects.
    @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Wall-clock milliseconds since the Unix epoch.
    public static func wallMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000 &+ UInt64(now.tv_nsec) / 1_000_000
    }

    /// CPU time this process has used, all threads, in nanoseconds (CLOCK_PROCESS_CPUTIME_ID): what a
    /// load generator reports of its own cost over the window it measured.
    public static func processCPUNanoseconds() -> UInt64 {
        var used = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used)
        return UInt64(used.tv_sec) &* 1_000_000_000 &+ UInt64(used.tv_nsec)
    }
}
