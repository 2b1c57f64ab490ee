// The calling side of TCP, for the load generator: non-blocking connect from a chosen source
// address, and the three ways a client can end (FIN, RST, or vanishing without a packet).
import CLinux
import Glibc

extension Socket {
    /// Starts a non-blocking, close-on-exec TCP connect to `server`, bound first to `source` when given
    /// (its port is ignored: IP_BIND_ADDRESS_NO_PORT lets the kernel pick the port at connect time, per
    /// destination, so each source address has its own ~28k ephemeral ports to a server).
    /// The socket reports writable when the connect has finished; `pendingError()` then tells how.
    /// TCP_NODELAY is on: heartbeats are single small lines that must not wait for Nagle.
    /// The corresponding C functions are `socket(2)`, `bind(2)` and `connect(2)`.
    public static func connecting(to server: SocketAddress, from source: SocketAddress?) throws(SystemError) -> Socket {
        let family = server.isIPv6 ? AF_INET6 : AF_INET
        let fd = try retrying("socket") {
            Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | clinux_SOCK_NONBLOCK | clinux_SOCK_CLOEXEC, 0)
        }
        let socket = Socket(owning: fd)
        try socket.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
        if let source {
            try socket.setOption(Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, 1, "setsockopt(IP_BIND_ADDRESS_NO_PORT)")
            var unported = source
            unported.port = 0
            _ = try retrying("bind") { unported.withSockaddr { Glibc.bind(fd, $0, $1) } }
        }
        let status = server.withSockaddr { Glibc.connect(fd, $0, $1) }
        if status == 0 { return socket }
        let error = Errno.current
        // EINPROGRESS: the usual answer; the outcome arrives as writability. EINTR means the same for a
        // connect (it goes on in the background), and calling again would only say EALREADY.
        if error.rawValue == EINPROGRESS || error == .interrupted { return socket }
        throw SystemError(call: "connect", errno: error)
    }

    /// Makes `close()` send RST instead of FIN (SO_LINGER with a zero timeout): an aborted client.
    public func abortOnClose() throws(SystemError) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = try retrying("setsockopt(SO_LINGER)") {
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
    }

    /// Puts the socket in TCP repair mode, in which `close()` sends nothing at all: the peer keeps a
    /// connection to a client that vanished, as after a power cut. Needs CAP_NET_ADMIN (EPERM otherwise).
    public func enterRepairMode() throws(SystemError) {
        try setOption(Int32(IPPROTO_TCP), TCP_REPAIR, 1, "setsockopt(TCP_REPAIR)")
    }
}

extension SocketAddress {
    /// The same address with another port.
    public func with(port: UInt16) -> SocketAddress {
        var copy = self
        copy.port = port
        return copy
    }

    /// True for 127.0.0.0/8, where every address is local and can be a distinct source.
    public var isIPv4Loopback: Bool {
        !isIPv6 && UInt32(bigEndian: UInt32(truncatingIfNeeded: host.low)) >> 24 == 127
    }
}
