// Unix-domain stream sockets, for the control socket: the daemon listens on a path and asks each peer
// who it is (SO_PEERCRED); heartbeatctl connects and talks with blocking calls.
import CLinux
import Glibc

/// Who is at the other end of a unix socket, as the kernel recorded it at connect(2).
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// The layout of Linux's `struct ucred`, which Glibc only declares under _GNU_SOURCE.
private struct KernelCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

extension Socket {
    /// A non-blocking, close-on-exec listener bound to `path`. The path must not exist; the file is
    /// made with the process umask (set its mode afterwards with `FileSystem.setMode`).
    /// The corresponding C functions are `socket(2)`, `bind(2)` and `listen(2)`.
    public static func listenUnix(at path: String, backlog: Int32 = 64) throws(SystemError) -> Socket {
        try checkFits(path, "bind")
        let fd = try retrying("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC, 0)
        }
        let socket = Socket(owning: fd)
        _ = try retrying(named: "bind(\(path))") {
            withUnixAddress(path) { address, length in Glibc.bind(fd, address, length) }
        }
        _ = try retrying("listen") { Glibc.listen(fd, backlog) }
        return socket
    }

    /// A blocking, close-on-exec connection to the unix socket at `path`.
    /// The corresponding C function is `connect(2)`.
    public static func connectUnix(to path: String) throws(SystemError) -> Socket {
        try checkFits(path, "connect")
        let fd = try retrying("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_CLOEXEC, 0)
        }
        let socket = Socket(owning: fd)
        _ = try retrying(named: "connect(\(path))") {
            withUnixAddress(path) { address, length in Glibc.connect(fd, address, length) }
        }
        return socket
    }

    /// Whether a process accepts connections at `path` right now: false when nothing is there, the
    /// file is no socket, or connecting is refused (a stale socket left by a process that died).
    public static func isUnixSocketServed(at path: String) -> Bool {
        guard path.utf8.count < unixPathCapacity else { return false }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC, 0)
        guard fd >= 0 else { return false }
        defer { closeDescriptor(fd) }
        let result = withUnixAddress(path) { address, length in Glibc.connect(fd, address, length) }
        // A full backlog answers EAGAIN on a non-blocking unix connect: someone is serving it.
        return result == 0 || Errno.current == .wouldBlock
    }

    /// Accepts one connection on a unix listener, non-blocking and close-on-exec; nil when none is
    /// waiting. The corresponding C function is `accept4(2)`.
    public func acceptUnix() throws(SystemError) -> Socket? {
        let result = try nonBlocking("accept4") {
            CLinux.accept4(fd, nil, nil, clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC)
        }
        switch result {
        case .wouldBlock: return nil
        case .done(let accepted): return Socket(owning: accepted)
        }
    }

    /// The credentials of the peer of a connected unix socket. The corresponding C function is
    /// `getsockopt(2)` with `SO_PEERCRED`.
    public func peerCredentials() throws(SystemError) -> PeerCredentials {
        var credentials = KernelCredentials()
        var length = socklen_t(MemoryLayout<KernelCredentials>.size)
        _ = try retrying("getsockopt(SO_PEERCRED)") { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// Sends every byte on a blocking socket, retrying short writes; no SIGPIPE.
    public func sendAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            offset += try retrying("send") { Glibc.send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Makes a blocking read give up after `milliseconds` (it then reports `.wouldBlock`).
    public func setReceiveTimeout(milliseconds: Int) throws(SystemError) {
        var timeout = timeval(tv_sec: milliseconds / 1_000, tv_usec: (milliseconds % 1_000) * 1_000)
        _ = try retrying("setsockopt(SO_RCVTIMEO)") {
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }
}

extension Errno {
    /// What the C library says this errno means ("No such file or directory"), for messages to people.
    /// The corresponding C function is `strerror(3)`.
    public var meaning: String { String(cString: strerror(rawValue)) }
}

/// sun_path's size: a path must fit with its terminating NUL.
private let unixPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

private func checkFits(_ path: String, _ call: String) throws(SystemError) {
    guard path.utf8.count < unixPathCapacity else {
        throw SystemError(call: "\(call)(\(path))", errno: Errno(rawValue: ENAMETOOLONG))
    }
}

/// Calls `body` with a sockaddr_un for `path`, which `checkFits` has measured.
private func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: Array(path.utf8.prefix(unixPathCapacity - 1)))
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
