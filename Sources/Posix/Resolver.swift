// Name resolution for the calling side: every IPv4 and IPv6 address of a host, in the resolver's
// order (RFC 6724 preferences), as values `Socket.connecting(to:from:)` takes.
import CLinux
import Glibc

/// What the resolver found. Not finding a name is an answer, not a failed call: it comes as text.
public enum Resolution: Sendable, Equatable {
    case found([SocketAddress])
    /// The resolver's own words (`gai_strerror(3)`), e.g. "Name or service not known".
    case failed(String)
}

extension SocketAddress {
    /// Blocks for as long as the resolver takes; run it off any loop. Scope ids of link-local IPv6
    /// addresses are not kept. The corresponding C function is `getaddrinfo(3)`.
    public static func resolve(host: String, port: UInt16) -> Resolution {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else { return .failed(String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let current = entry {
            let family = current.pointee.ai_family
            if let address = current.pointee.ai_addr, family == AF_INET || family == AF_INET6,
                current.pointee.ai_addrlen <= socklen_t(MemoryLayout<sockaddr_storage>.size)
            {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { bytes in
                    bytes.copyMemory(
                        from: UnsafeRawBufferPointer(start: address, count: Int(current.pointee.ai_addrlen)))
                }
                addresses.append(SocketAddress(storage: storage))
            }
            entry = current.pointee.ai_next
        }
        return .found(addresses)
    }
}
