// Descriptors that outlive their process: sockets taken over from a predecessor, kept open across
// `execve`, and the memfd that carries the hand-off state beside them.
import CLinux
import Glibc

extension Socket {
    /// Takes ownership of an inherited connected TCP socket (IPv4 or IPv6), after checking that it is one;
    /// made non-blocking and close-on-exec.
    public init(adoptingConnected number: Int32) throws(SystemError) {
        guard Self.option(number, SOL_SOCKET, SO_TYPE) == Int32(SOCK_STREAM.rawValue),
            [AF_INET, AF_INET6].contains(Self.option(number, SOL_SOCKET, SO_DOMAIN) ?? -1),
            Self.option(number, SOL_SOCKET, SO_ACCEPTCONN) == 0
        else { throw SystemError(call: "adopt connection fd \(number)", errno: .invalidArgument) }
        // A predecessor's sockets are non-blocking already: one system call less per session at a takeover.
        let flags = try retrying("fcntl(F_GETFL)") { fcntl(number, F_GETFL) }
        if flags & O_NONBLOCK == 0 {
            _ = try retrying("fcntl(O_NONBLOCK)") { fcntl(number, F_SETFL, flags | O_NONBLOCK) }
        }
        _ = try retrying("fcntl(FD_CLOEXEC)") { fcntl(number, F_SETFD, FD_CLOEXEC) }
        self.init(owning: number)
    }

    /// Takes back a connection this process adopted (`init(adoptingConnected:)`) and then relinquished to
    /// hand it to another thread: checked, non-blocking and close-on-exec already, so no system call.
    public init(reclaiming id: DescriptorID) {
        self.init(owning: id.rawValue)
    }

    /// The connected peer's address. The corresponding C function is `getpeername(2)`.
    public func peerAddress() throws(SystemError) -> SocketAddress {
        SocketAddress(storage: try Descriptors.storage(of: id, "getpeername", getpeername))
    }

    /// Clears FD_CLOEXEC, so the socket stays open in the program `execve` starts next.
    public func keepAcrossExec() throws(SystemError) {
        try Descriptors.keepAcrossExec(id)
    }

    /// Sets FD_CLOEXEC again (an `execve` that failed).
    public func closeOnExec() {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    private static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }
}

extension SocketAddress {
    /// The address as 16 bytes in network order (IPv4 in the first four), for a hand-off record.
    public var rawBytes: [UInt8] {
        if isIPv6 {
            return withUnsafeBytes(of: (host.high, host.low)) { Array($0) }
        }
        // One array, not a four-byte one and its padding: a freeze makes one per session.
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: host.low)) { bytes.replaceSubrange(0..<4, with: $0) }
        return bytes
    }

    public init(isIPv6: Bool, rawBytes: [UInt8], port: UInt16) {
        let bytes = rawBytes.count >= 16 ? rawBytes : rawBytes + [UInt8](repeating: 0, count: 16 - rawBytes.count)
        if isIPv6 {
            let high = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
            let low = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
            host = HostAddress(high: high, low: low, isIPv6: true)
        } else {
            let low = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) }
            host = HostAddress(high: 0, low: UInt64(low), isIPv6: false)
        }
        self.port = port
    }
}

/// Descriptors by number, for the ones no owning type holds: inherited ones not yet sorted out.
public enum Descriptors {
    public static func close(_ id: DescriptorID) { closeDescriptor(id.rawValue) }

    public static func keepAcrossExec(_ id: DescriptorID) throws(SystemError) {
        _ = try retrying("fcntl(F_SETFD)") { fcntl(id.rawValue, F_SETFD, 0) }
    }

    /// Sets FD_CLOEXEC (a takeover's sockets, so a child started later does not hold them open).
    public static func closeOnExec(_ id: DescriptorID) {
        _ = fcntl(id.rawValue, F_SETFD, FD_CLOEXEC)
    }

    /// Whether `id` is an open descriptor at all (fcntl F_GETFD succeeds).
    public static func isOpen(_ id: DescriptorID) -> Bool { fcntl(id.rawValue, F_GETFD) >= 0 }

    /// The peer and local address of `id` if it is a connected IPv4 or IPv6 socket, else nil: two system
    /// calls, where `Socket(adoptingConnected:)` checks type, family and state with five. A takeover names
    /// thousands of sockets this way; a listener (ENOTCONN), a unix socket or no socket (ENOTSOCK) is
    /// refused. The corresponding C functions are `getpeername(2)` and `getsockname(2)`.
    public static func connection(_ id: DescriptorID) -> (peer: SocketAddress, local: SocketAddress)? {
        guard let peer = address(of: id, "getpeername", getpeername),
            let local = address(of: id, "getsockname", getsockname)
        else { return nil }
        return (peer, local)
    }

    /// Whether `id` is a connected socket whose peer is `peer`: one `getpeername(2)`, the whole check a
    /// takeover makes on a socket it expects to be a given record's (under the record's number after an
    /// `execve`, at the record's position in a carrier). False for another connection, a listener, no
    /// socket, or a number not open. A socket the predecessor accepted is non-blocking already.
    public static func isConnection(_ id: DescriptorID, to peer: SocketAddress) -> Bool {
        self.peer(id) == peer
    }

    /// The peer of `id` if it is a connected IPv4 or IPv6 socket, else nil: one `getpeername(2)`.
    public static func peer(_ id: DescriptorID) -> SocketAddress? {
        address(of: id, "getpeername", getpeername)
    }

    /// An inet address from getpeername or getsockname; nil on failure or for another family.
    private static func address(
        of id: DescriptorID, _ name: StaticString,
        _ call: (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?) -> Int32
    ) -> SocketAddress? {
        guard let storage = try? storage(of: id, name, call), [AF_INET, AF_INET6].contains(Int32(storage.ss_family))
        else { return nil }
        return SocketAddress(storage: storage)
    }

    /// What getpeername or getsockname (`call`, named `name` in the error) fills in for `id`: the one place
    /// a socket's address is read into a `sockaddr_storage`.
    static func storage(
        of id: DescriptorID, _ name: StaticString,
        _ call: (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?) -> Int32
    ) throws(SystemError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try retrying(name) { call(id.rawValue, address, &length) }
            }
        }
        return storage
    }
}

/// A memfd: anonymous memory with a descriptor, the carrier of state across a restart.
public enum MemoryFile {
    /// A new memfd named `name` holding `bytes`, sealed against change, with FD_CLOEXEC clear or set as
    /// `keepAcrossExec` says. The corresponding C function is `memfd_create(2)`.
    public static func create(name: String, bytes: [UInt8], keepAcrossExec: Bool) throws(SystemError) -> DescriptorID {
        let flags = clinux_MFD_ALLOW_SEALING | (keepAcrossExec ? 0 : clinux_MFD_CLOEXEC)
        let fd = try retrying("memfd_create") { CLinux.memfd_create(name, flags) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                let error = Errno.current
                if error == .interrupted { continue }
                closeDescriptor(fd)
                throw SystemError(call: "write", errno: error)
            }
            written += count
        }
        _ = fcntl(fd, clinux_F_ADD_SEALS, clinux_F_SEALS_ALL)
        return DescriptorID(fd)
    }

    /// Everything in the file, from its start (at most `limit` bytes; more is an error).
    public static func read(_ id: DescriptorID, limit: Int) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var offset = 0
        while true {
            let count = try retrying("pread") {
                chunk.withUnsafeMutableBytes { pread(id.rawValue, $0.baseAddress, $0.count, off_t(offset)) }
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw SystemError(call: "pread", errno: Errno(rawValue: EFBIG)) }
            bytes += chunk[..<count]
            offset += count
        }
    }
}

extension Descriptors {
    /// The sockets this process inherited across `execve` on purpose: open above `from`, without
    /// FD_CLOEXEC (every descriptor heartbeatd makes has it). Anything else it may have inherited from
    /// whoever started it — a pipe, /dev/null — is not ours to close and is left alone.
    /// Numbers in `known` (a hand-off state names them) are skipped without a system call each.
    public static func inheritedSockets(from: Int32, skipping known: Set<Int32> = []) -> [DescriptorID] {
        openNumbers(from: from).filter { !known.contains($0.rawValue) && isInheritedSocket($0) }
    }

    /// Whether `id` is a socket at all (one `fstat`).
    public static func isSocket(_ id: DescriptorID) -> Bool {
        var status = stat()
        return fstat(id.rawValue, &status) == 0 && status.st_mode & S_IFMT == S_IFSOCK
    }

    /// Whether `id` is a socket left open across `execve` on purpose (FD_CLOEXEC clear).
    public static func isInheritedSocket(_ id: DescriptorID) -> Bool {
        var status = stat()
        guard fstat(id.rawValue, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return false }
        let flags = fcntl(id.rawValue, F_GETFD)
        return flags >= 0 && flags & FD_CLOEXEC == 0
    }

    /// Every descriptor number this process has open at `from` or above. One `poll(2)` with a zero timeout
    /// over every number below the descriptor table's size (FDSize in /proc/self/status) answers it: a
    /// closed number comes back POLLNVAL. Listing /proc/self/fd instead builds a dentry per descriptor,
    /// 20–80 ms at 15,000 while every handed-over session waits; it stays as the fallback.
    public static func openNumbers(from: Int32) -> [DescriptorID] {
        guard let limit = DescriptorLimit.current, let text = try? readFile("/proc/self/status"),
            let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first(where: {
                $0.hasPrefix("FDSize:")
            }),
            let size = Int32(line.dropFirst("FDSize:".count).trimmingPrefix { $0 == " " || $0 == "\t" })
        else { return listedNumbers(from: from) }
        // poll refuses more entries than RLIMIT_NOFILE; the table never holds a number above that limit
        // here, since the daemon only ever raises it.
        let end = Int32(clamping: min(UInt64(size), limit))
        guard from < end else { return [] }
        var entries = (from..<end).map { pollfd(fd: $0, events: 0, revents: 0) }
        guard (try? retrying("poll") { poll(&entries, nfds_t(entries.count), 0) }) != nil else {
            return listedNumbers(from: from)
        }
        return entries.filter { Int32($0.revents) & Int32(POLLNVAL) == 0 }.map { DescriptorID($0.fd) }
    }

    /// `openNumbers` from /proc/self/fd (the one the listing itself uses is skipped).
    private static func listedNumbers(from: Int32) -> [DescriptorID] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        let own = dirfd(directory)
        var found: [DescriptorID] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let number = Int32(name), number >= from, number != own else { continue }
            found.append(DescriptorID(number))
        }
        closedir(directory)
        return found
    }
}
