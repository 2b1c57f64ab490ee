// RLIMIT_NOFILE: a heartbeat server needs one descriptor per client, so the soft limit (often 1024)
// is raised to the hard limit at start.
import Glibc

public enum DescriptorLimit {
    /// Raises the soft limit to the hard one and returns the limit now in force.
    public static func raiseToHardLimit() throws(SystemError) -> UInt64 {
        var limit = rlimit()
        _ = try retrying("getrlimit(RLIMIT_NOFILE)") { getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = try retrying("setrlimit(RLIMIT_NOFILE)") { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        }
        return UInt64(limit.rlim_cur)
    }

    /// The soft limit in force, or nil if it cannot be read.
    public static var current: UInt64? {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : nil
    }
}
