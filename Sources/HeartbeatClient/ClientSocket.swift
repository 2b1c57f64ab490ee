// The client's TCP socket: the few libc calls one connection needs, non-blocking, with errors as
// text for the state stream. Readiness comes from Dispatch sources; this file only makes the calls.
import Glibc

/// An address from the resolver, in the form connect(2) takes.
struct ResolvedAddress: Sendable {
    var storage: sockaddr_storage
    var length: socklen_t

    var family: Int32 { Int32(storage.ss_family) }

    /// The numeric form, `192.0.2.7:7700` or `[2001:db8::7]:7700`. The C function is `getnameinfo(3)`.
    var description: String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let status = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                getnameinfo(address, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return "?" }
        let hostText = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let serviceText = service.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return family == AF_INET6 ? "[\(hostText)]:\(serviceText)" : "\(hostText):\(serviceText)"
    }
}

/// A failed call, with its name and errno, as one line of text.
struct SocketFailure: Error {
    var description: String

    init(call: String, code: Int32) {
        description = "\(call): \(String(cString: strerror(code)))"
    }

    init(description: String) {
        self.description = description
    }
}

/// The outcome of a non-blocking call that may have nothing to do.
enum Attempt<Value> {
    case done(Value)
    case wouldBlock
}

/// One non-blocking, close-on-exec TCP socket. The owner closes it exactly once, with `close()`.
struct ClientSocket {
    let fd: Int32

    /// Opens a socket for `family` with TCP_NODELAY: heartbeats are tiny and must not wait for Nagle.
    static func open(family: Int32) throws(SocketFailure) -> ClientSocket {
        let fd = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        let socket = ClientSocket(fd: fd)
        do {
            try socket.set(Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Starts connecting; true when already connected, false when the result comes with writability.
    func connect(to address: ResolvedAddress) throws(SocketFailure) -> Bool {
        var storage = address.storage
        let status = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }
        if status == 0 { return true }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return false }
        throw SocketFailure(call: "connect", code: code)
    }

    /// The pending error of a connect that reported writability; nil when it succeeded.
    func connectError() -> SocketFailure? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else {
            return SocketFailure(call: "getsockopt(SO_ERROR)", code: errno)
        }
        return value == 0 ? nil : SocketFailure(call: "connect", code: value)
    }

    /// Keepalive probes after `idleSeconds` of silence, every `intervalSeconds`, `count` of them; and
    /// TCP_USER_TIMEOUT: the kernel drops the connection when sent data stays unacknowledged that long.
    func setKeepalive(idleSeconds: Int32, intervalSeconds: Int32, count: Int32, userTimeoutMilliseconds: Int32) throws(SocketFailure) {
        try set(SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt(SO_KEEPALIVE)")
        try set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, idleSeconds, "setsockopt(TCP_KEEPIDLE)")
        try set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, intervalSeconds, "setsockopt(TCP_KEEPINTVL)")
        try set(Int32(IPPROTO_TCP), TCP_KEEPCNT, count, "setsockopt(TCP_KEEPCNT)")
        try set(Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, userTimeoutMilliseconds, "setsockopt(TCP_USER_TIMEOUT)")
    }

    /// Sends all of `bytes` or nothing useful: `.wouldBlock` when the kernel took none (the server is
    /// not reading). A heartbeat line is far below the send buffer, so a partial send means trouble too.
    func send(_ bytes: [UInt8]) throws(SocketFailure) -> Attempt<Int> {
        while true {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if sent >= 0 { return .done(sent) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SocketFailure(call: "send", code: code)
        }
    }

    /// Reads what is there into `buffer`; `.done(0)` is the server's FIN.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketFailure) -> Attempt<Int> {
        while true {
            let count = Glibc.recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if count >= 0 { return .done(count) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SocketFailure(call: "recv", code: code)
        }
    }

    /// Never retried: on Linux the descriptor is gone even when close reports EINTR.
    func close() {
        _ = Glibc.close(fd)
    }

    private func set(_ level: Int32, _ name: Int32, _ value: Int32, _ call: String) throws(SocketFailure) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SocketFailure(call: call, code: errno)
        }
    }
}

/// Name resolution for one attempt: every IPv4 and IPv6 address of `host`, in the resolver's order
/// (which follows RFC 6724 preferences). Blocking; the caller runs it off the client's queue.
/// The corresponding C function is `getaddrinfo(3)`.
func resolve(_ endpoint: Endpoint) -> Result<[ResolvedAddress], SocketFailure> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
    guard status == 0 else {
        let text = String(cString: gai_strerror(status))
        return .failure(SocketFailure(description: "cannot resolve \(endpoint.host): \(text)"))
    }
    defer { freeaddrinfo(list) }
    var addresses: [ResolvedAddress] = []
    var entry = list
    while let current = entry {
        if let address = current.pointee.ai_addr, current.pointee.ai_addrlen <= socklen_t(MemoryLayout<sockaddr_storage>.size) {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { bytes in
                bytes.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(current.pointee.ai_addrlen)))
            }
            addresses.append(ResolvedAddress(storage: storage, length: current.pointee.ai_addrlen))
        }
        entry = current.pointee.ai_next
    }
    return .success(addresses)
}
