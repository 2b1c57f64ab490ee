// A listening socket and where it came from: bound by us (one per worker, SO_REUSEPORT) or passed
// by systemd (one, shared by every worker's epoll with EPOLLEXCLUSIVE); plain or TLS.
import Posix

final class Listener: @unchecked Sendable {
    // @unchecked: after start, only the owning worker's thread touches `socket` (accept4 and close);
    // other workers sharing a passed socket only register its descriptor number with their epoll.
    var socket: Socket?
    let address: SocketAddress
    let isShared: Bool
    let kind: Kind
    /// Its peers are a proxy that opens each connection with a PROXY header (v1 or v2): the session's peer
    /// is the address in the header (Worker+Proxy.swift). Set per address by `Server.init(proxied:)`.
    let expectsProxyHeader: Bool
    let id: DescriptorID

    /// What a connection accepted here speaks first.
    enum Kind {
        /// Lines of the wire protocol.
        case plain
        /// A TLS handshake (with `Settings.tls`), then the same lines inside TLS.
        case tls
    }

    init(
        socket: consuming Socket, address: SocketAddress, isShared: Bool, kind: Kind = .plain,
        expectsProxyHeader: Bool = false
    ) {
        id = socket.id
        self.socket = .some(socket)
        self.address = address
        self.isShared = isShared
        self.kind = kind
        self.expectsProxyHeader = expectsProxyHeader
    }
}
