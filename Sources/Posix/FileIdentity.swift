// What the systemd edge asks of the process: which file stderr is (to recognise journald's stream
// from JOURNAL_STREAM), the environment variables systemd passes, and one whole-line write.
import Glibc

/// A file's identity as fstat(2) reports it: the device and inode pair, as systemd writes it in JOURNAL_STREAM.
public struct FileIdentity: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// The identity of descriptor 2, or nil when it is closed.
    /// The corresponding C function is `fstat(2)`.
    public static func ofStandardError() -> FileIdentity? {
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}

/// The value of the environment variable `name`, or nil when it is unset.
/// The corresponding C function is `getenv(3)`.
public func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Writes all of `bytes` to `descriptor`, retrying EINTR and short writes.
/// One call is one write(2) unless the kernel takes less: on a pipe a line up to PIPE_BUF (4096 bytes)
/// is never split, which is what keeps log lines from different threads whole.
/// The corresponding C function is `write(2)`.
public func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
        let written = try retrying("write") { Glibc.write(descriptor, remaining.baseAddress, remaining.count) }
        offset += written
    }
}
