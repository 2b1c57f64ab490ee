// The few file-system calls the control socket and heartbeatctl make: create its directory, find out
// what a path is, remove a stale socket, set mode and group, read a small file (a secret).
import Glibc

public enum FileSystem {
    /// What is at a path, as far as the control socket cares.
    public enum Kind: Sendable, Equatable {
        case socket
        case directory
        case other
    }

    /// What `path` is, or nil when nothing is there. The corresponding C function is `lstat(2)`.
    public static func kind(of path: String) -> Kind? {
        guard let status = status(of: path) else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFSOCK: return .socket
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The device and inode at `path` (not following a final symlink), to tell our own socket file
    /// from one another process put there since.
    public static func identity(of path: String) -> FileIdentity? {
        status(of: path).map { FileIdentity(device: UInt64($0.st_dev), inode: UInt64($0.st_ino)) }
    }

    /// The permission bits of `path` (e.g. 0o600), or nil when nothing is there.
    public static func mode(of path: String) -> UInt32? {
        status(of: path).map { UInt32($0.st_mode) & 0o7777 }
    }

    /// The group owning `path`, or nil when nothing is there.
    public static func group(of path: String) -> UInt32? {
        status(of: path).map { UInt32($0.st_gid) }
    }

    /// Whether `path`, following symlinks, names a regular file, and its permission bits; nil when it does
    /// not exist or cannot be examined. For a secret: the mode that matters is the file's that gets read.
    /// The corresponding C function is `stat(2)`.
    public static func regularFileMode(of path: String) -> (isRegular: Bool, mode: UInt32)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (status.st_mode & S_IFMT == S_IFREG, UInt32(status.st_mode) & 0o7777)
    }

    /// Creates `path` and any missing parents with `mode` (as umask allows). An existing directory is fine.
    /// The corresponding C function is `mkdir(2)`.
    public static func makeDirectories(_ path: String, mode: UInt32) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if Glibc.mkdir(prefix, mode_t(mode)) == 0 { continue }
            let error = Errno.current
            guard error.rawValue == EEXIST, kind(of: prefix) == .directory else {
                throw SystemError(call: "mkdir(\(prefix))", errno: error)
            }
        }
    }

    /// Removes the file at `path`. The corresponding C function is `unlink(2)`.
    public static func remove(_ path: String) throws(SystemError) {
        _ = try retrying(named: "unlink(\(path))") { Glibc.unlink(path) }
    }

    /// The corresponding C function is `chmod(2)`.
    public static func setMode(_ path: String, _ mode: UInt32) throws(SystemError) {
        _ = try retrying(named: "chmod(\(path))") { Glibc.chmod(path, mode_t(mode)) }
    }

    /// Gives `path` to group `gid`, keeping its owner. The corresponding C function is `chown(2)`.
    public static func setGroup(_ path: String, _ gid: UInt32) throws(SystemError) {
        _ = try retrying(named: "chown(\(path))") { Glibc.chown(path, uid_t.max, gid_t(gid)) }
    }

    /// The whole content of a regular file of at most `limit` bytes.
    /// The corresponding C functions are `open(2)` and `read(2)`.
    public static func read(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try retrying(named: "open(\(path))") { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        defer { closeDescriptor(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = try retrying(named: "read(\(path))") {
                chunk.withUnsafeMutableBytes { buffer in Glibc.read(fd, buffer.baseAddress, buffer.count) }
            }
            if count == 0 { return content }
            content += chunk[..<count]
            if content.count > limit {
                throw SystemError(call: "read(\(path)): more than \(limit) bytes", errno: Errno(rawValue: EFBIG))
            }
        }
    }

    private static func status(of path: String) -> stat? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status
    }
}

/// `retrying` for a call whose name carries a path, so the error says which file.
func retrying<R: BinaryInteger>(named call: String, _ body: () -> R) throws(SystemError) -> R {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno.current
        if error == .interrupted { continue }
        throw SystemError(call: call, errno: error)
    }
}
