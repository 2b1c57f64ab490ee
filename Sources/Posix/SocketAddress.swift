// An IPv4 or IPv6 address with port, in 24 bytes: small enough to keep one per session.
import Glibc

/// An address without its port: the key for per-address limits.
public struct HostAddress: Hashable, Sendable {
    // The flag last, so a SocketAddress (this plus a port) packs into 24 bytes.
    var high: UInt64
    var low: UInt64
    public var isIPv6: Bool
}

extension HostAddress {
    /// The network the host is counted under by per-network limits: its IPv4 /24 or IPv6 /64 (what one
    /// site or one subscriber usually holds), host bits cleared. An IPv4-mapped IPv6 address (a dual-stack
    /// socket systemd passed) counts as the IPv4 address it carries.
    public var network: HostAddress {
        // Both halves hold the address's bytes in network order, loaded as little-endian integers: the first
        // bytes of the address are the low bits.
        if isIPv6, high == 0, low & 0xFFFF_FFFF == 0xFFFF_0000 {
            return HostAddress(high: 0, low: (low >> 32) & 0x00FF_FFFF, isIPv6: false)
        }
        return isIPv6
            ? HostAddress(high: high, low: 0, isIPv6: true)
            : HostAddress(high: 0, low: low & 0x00FF_FFFF, isIPv6: false)
    }

    /// `network` written as a prefix, "192.0.2.0/24" or "2001:db8::/64", for logs.
    public var networkDescription: String {
        var address = SocketAddress(ipv4: in_addr(s_addr: 0), port: 0)
        address.host = network
        let host = address.description.dropLast(2) // ":0"
        return network.isIPv6 ? "\(host.dropFirst().dropLast())/64" : "\(host)/24"
    }
}

public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: HostAddress
    public var port: UInt16

    public var isIPv6: Bool { host.isIPv6 }

    /// Parses a numeric address ("127.0.0.1", "::1"); no name resolution. The C function is `inet_pton(3)`.
    public init?(host text: String, port: UInt16) {
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            self.init(ipv6: raw, port: port)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self.init(ipv4: raw, port: port)
        }
    }

    /// An address from its raw bytes in network order: 4 (IPv4) or 16 (IPv6); nil for any other count.
    public init?(bytes: [UInt8], port: UInt16) {
        switch bytes.count {
        case 4:
            var raw = in_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            self.init(ipv4: raw, port: port)
        case 16:
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            self.init(ipv6: raw, port: port)
        default:
            return nil
        }
    }

    init(ipv4: in_addr, port: UInt16) {
        host = HostAddress(high: 0, low: UInt64(ipv4.s_addr), isIPv6: false)
        self.port = port
    }

    init(ipv6: in6_addr, port: UInt16) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        withUnsafeBytes(of: ipv6) { bytes in
            high = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            low = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        }
        host = HostAddress(high: high, low: low, isIPv6: true)
        self.port = port
    }

    init(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET6:
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            self.init(ipv6: address.sin6_addr, port: UInt16(bigEndian: address.sin6_port))
        case AF_INET:
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            self.init(ipv4: address.sin_addr, port: UInt16(bigEndian: address.sin_port))
        default:
            // A unix-domain peer or an unknown family: keep a recognisable zero address.
            self.init(ipv4: in_addr(s_addr: 0), port: 0)
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
                bytes.storeBytes(of: host.high, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: host.low, toByteOffset: 8, as: UInt64.self)
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = in_addr(s_addr: UInt32(truncatingIfNeeded: host.low))
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// "127.0.0.1:7700" or "[::1]:7700". The corresponding C function is `inet_ntop(3)`.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if isIPv6 {
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { bytes in
                bytes.storeBytes(of: host.high, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: host.low, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            return "[\(Self.string(text))]:\(port)"
        }
        var raw = in_addr(s_addr: UInt32(truncatingIfNeeded: host.low))
        inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
        return "\(Self.string(text)):\(port)"
    }

    private static func string(_ text: [CChar]) -> String {
        text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
