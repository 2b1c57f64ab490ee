// A socket the process owns: non-copyable, so only one place can hold it and only `close()` ends it.
// The raw descriptor never leaves this module; callers get a `DescriptorID` to key their tables.
import CLinux
import Glibc

/// The number of an open descriptor, for indexing tables. It names; it does not own.
public struct DescriptorID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// For tables that rebuild an id from a stored number (the event loop's epoll tokens).
    public init(number: Int32) { self.rawValue = number }
    public var index: Int { Int(rawValue) }
    public var description: String { "fd \(rawValue)" }
}

public struct Socket: ~Copyable {
    let fd: Int32

    init(owning fd: Int32) { self.fd = fd }

    /// Takes ownership of an inherited listening socket (socket activation), after checking that it is one.
    public init(adoptingListener number: Int32) throws(SystemError) {
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retrying("getsockopt(SO_ACCEPTCONN)") {
            getsockopt(number, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length)
        }
        guard listening == 1 else { throw SystemError(call: "adopt listener fd \(number)", errno: .invalidArgument) }
        _ = try retrying("fcntl(O_NONBLOCK)") { fcntl(number, F_SETFL, fcntl(number, F_GETFL) | O_NONBLOCK) }
        _ = try retrying("fcntl(FD_CLOEXEC)") { fcntl(number, F_SETFD, FD_CLOEXEC) }
        self.fd = number
    }

    deinit { closeDescriptor(fd) }

    public var id: DescriptorID { DescriptorID(fd) }

    /// Ends ownership. The corresponding C function is `close(2)`; it is never retried.
    public consuming func close() {
        closeDescriptor(fd)
        discard self
    }

    /// Ends ownership without closing: the descriptor stays open for whoever takes it next (a successor
    /// after `execve`, or systemd's fd store, which holds its own copy).
    public consuming func relinquish() -> DescriptorID {
        let id = DescriptorID(fd)
        discard self
        return id
    }

    // MARK: Listening

    /// A non-blocking TCP listener bound to `address`, with SO_REUSEADDR and, when asked, SO_REUSEPORT.
    public static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32 = 4096) throws(SystemError)
        -> Socket
    {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = try retrying("socket") {
            Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC, 0)
        }
        let socket = Socket(owning: fd)
        try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
        if reusePort { try socket.setOption(SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)") }
        if address.isIPv6 { try socket.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)") }
        _ = try retrying("bind") {
            address.withSockaddr { pointer, length in Glibc.bind(fd, pointer, length) }
        }
        _ = try retrying("listen") { Glibc.listen(fd, backlog) }
        return socket
    }

    /// Throws EADDRINUSE when a socket already listens on `address`, another process's SO_REUSEPORT group
    /// included: `listen(on:reusePort: true)` would join that group (same user) and share its connections.
    /// A bind without SO_REUSEPORT, closed at once; with SO_REUSEADDR, so the port's TIME_WAIT does not count.
    public static func checkNoneListens(on address: SocketAddress) throws(SystemError) {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = try retrying("socket") { Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_CLOEXEC, 0) }
        let probe = Socket(owning: fd)
        try probe.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
        if address.isIPv6 { try probe.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)") }
        _ = try retrying("bind") { address.withSockaddr { pointer, length in Glibc.bind(fd, pointer, length) } }
    }

    /// Sets a listening socket's backlog again: Linux takes a second `listen(2)` on a listener as a new
    /// backlog, and keeps the connections already queued.
    public func setBacklog(_ backlog: Int32) throws(SystemError) {
        _ = try retrying("listen") { Glibc.listen(fd, backlog) }
    }

    /// A listener's accept queue: the connections waiting for accept, and the most that may wait (the
    /// backlog as the kernel applies it, capped at net.core.somaxconn). For a listening socket TCP_INFO
    /// carries them in `tcpi_unacked` and `tcpi_sacked`, as `ss -ltn` shows them in Recv-Q and Send-Q.
    /// The corresponding C function is `getsockopt(2)`.
    public func acceptQueue() throws(SystemError) -> (waiting: Int, limit: Int) {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        _ = try retrying("getsockopt(TCP_INFO)") { getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) }
        return (Int(info.tcpi_unacked), Int(info.tcpi_sacked))
    }

    /// The kernel's second line of defence, set on a listener and inherited by every accepted socket:
    /// keepalive probes after `idleSeconds` of silence and TCP_USER_TIMEOUT for unacknowledged data.
    public func setKeepalive(_ keepalive: TCPKeepalive) throws(SystemError) {
        try setOption(SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt(SO_KEEPALIVE)")
        try setOption(Int32(IPPROTO_TCP), TCP_KEEPIDLE, keepalive.idleSeconds, "setsockopt(TCP_KEEPIDLE)")
        try setOption(Int32(IPPROTO_TCP), TCP_KEEPINTVL, keepalive.intervalSeconds, "setsockopt(TCP_KEEPINTVL)")
        try setOption(Int32(IPPROTO_TCP), TCP_KEEPCNT, keepalive.count, "setsockopt(TCP_KEEPCNT)")
        try setOption(
            Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, keepalive.userTimeoutMilliseconds, "setsockopt(TCP_USER_TIMEOUT)")
    }

    /// Caps the kernel's send buffer, so a client that never reads costs a few KiB of kernel memory, not megabytes.
    public func setSendBufferSize(_ bytes: Int32) throws(SystemError) {
        try setOption(SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt(SO_SNDBUF)")
    }

    /// Accepts one connection, non-blocking and close-on-exec; nil when none is waiting.
    /// The corresponding C function is `accept4(2)`.
    public func accept(peer: inout SocketAddress) throws(SystemError) -> Socket? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try nonBlocking("accept4") {
                    CLinux.accept4(fd, address, &length, clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC)
                }
            }
        }
        switch result {
        case .wouldBlock:
            return nil
        case .done(let accepted):
            peer = SocketAddress(storage: storage)
            return Socket(owning: accepted)
        }
    }

    /// The address this socket is bound to (the real port when bound to port 0).
    public func localAddress() throws(SystemError) -> SocketAddress {
        SocketAddress(storage: try Descriptors.storage(of: id, "getsockname", getsockname))
    }

    // MARK: Data

    /// Reads what is there; `.done(0)` is the peer's FIN. The corresponding C function is `read(2)`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Copies what is there without taking it from the socket: a PROXY header is read this way before TLS, so
    /// that the bytes after it stay for OpenSSL. The corresponding C function is `recv(2)` with MSG_PEEK.
    public func peek(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try nonBlocking("recv") { Glibc.recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK)) }
    }

    /// Sends without blocking and without SIGPIPE (MSG_NOSIGNAL): a reset peer is an EPIPE error, not a signal.
    /// `more` (MSG_MORE) holds a short write back for what follows: a farewell before `shutdownWrite`
    /// then leaves in the FIN's segment, one packet instead of two.
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false) throws(SystemError) -> IOResult<Int> {
        let flags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT) | (more ? Int32(MSG_MORE) : 0)
        return try nonBlocking("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    /// Sends our FIN. Errors are ignored: a peer that already reset has nothing left to tell.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// The socket's pending error (SO_ERROR), for an EPOLLERR readiness; nil when there is none.
    public func pendingError() -> Errno? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0, value != 0 else { return nil }
        return Errno(rawValue: value)
    }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ call: StaticString) throws(SystemError) {
        var value = value
        _ = try retrying(call) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }
}

/// Keepalive and user-timeout settings, in the units the kernel takes.
public struct TCPKeepalive: Sendable, Equatable {
    public var idleSeconds: Int32
    public var intervalSeconds: Int32
    public var count: Int32
    public var userTimeoutMilliseconds: Int32
    public init(idleSeconds: Int32, intervalSeconds: Int32, count: Int32, userTimeoutMilliseconds: Int32) {
        self.idleSeconds = idleSeconds
        self.intervalSeconds = intervalSeconds
        self.count = count
        self.userTimeoutMilliseconds = userTimeoutMilliseconds
    }
}
