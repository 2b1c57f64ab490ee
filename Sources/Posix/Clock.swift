// The clocks: monotonic nanoseconds for deadlines, wall-clock time for what people read, and when this
// process began (its fork, and its loading after exec) on the monotonic clock.
import CLinux
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

    /// When this program was loaded (after exec and the dynamic loader, before Swift's main), on
    /// CLOCK_MONOTONIC: a constructor in CLinux takes it.
    public static var loadedNanoseconds: UInt64 { clinux_loaded_monotonic_ns() }

    /// When this process was forked, on CLOCK_MONOTONIC: /proc/self/stat's starttime (field 22), which
    /// the kernel keeps in clock ticks since boot (10 ms each, usually), set at fork and kept across exec.
    /// Under systemd the time from it to `loadedNanoseconds` is the unit's sandbox setup and the exec.
    /// nil when /proc cannot be read.
    public static func forkedNanoseconds() -> UInt64? {
        guard let text = try? readFile("/proc/self/stat") else { return nil }
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ')': state is field 3, so starttime (field 22) is at offset 19.
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        let ticksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        var boot = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        let bootNow = UInt64(boot.tv_sec) &* 1_000_000_000 &+ UInt64(boot.tv_nsec)
        let age = bootNow &- ticks &* (1_000_000_000 / ticksPerSecond)
        return monotonicNanoseconds() &- age
    }
}
