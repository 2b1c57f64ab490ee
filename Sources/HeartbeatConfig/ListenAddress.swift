// One `listen` entry: a numeric IPv4 or IPv6 address and a port. Host names are refused on purpose:
// the daemon binds before anything else runs, and a name that resolves differently later is a surprise.
import Posix
import Primitives

public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address text without brackets: "0.0.0.0", "::", "::ffff:10.0.0.1".
    public var host: String
    /// 0 lets the kernel pick a port (useful in tests).
    public var port: UInt16
    public var isIPv6: Bool

    public init(host: String, port: UInt16, isIPv6: Bool) {
        self.host = host
        self.port = port
        self.isIPv6 = isIPv6
    }

    /// Reads "1.2.3.4:7700" or "[::1]:7700"; the address must be what inet_pton(3) takes for its
    /// family, and is kept as written, not normalised. Errors name the key "listen".
    public init(parsing text: String) throws(ConfigError) {
        func refuse(_ why: String) -> ConfigError {
            ConfigError(key: "listen", message: "\(why), got \(tomlQuoted(text))")
        }
        let parsed: HostPort
        do {
            parsed = try HostPort(parsing: text)
        } catch {
            switch error {
            case .missingBracket:
                throw refuse("expected an IPv6 address in brackets and a port, such as \"[::]:7700\"")
            case .missingHost where text.hasPrefix("["):
                throw refuse("expected an IPv6 address in the brackets, such as \"[::1]:7700\"")
            case .missingPort where text.hasPrefix("["):
                throw refuse("expected a port after the brackets, such as \"[::]:7700\"")
            case .missingPort, .missingHost:
                throw refuse("expected an address and a port, such as \"0.0.0.0:7700\" or \"[::]:7700\"")
            case .unbracketedIPv6:
                throw refuse("an IPv6 address needs brackets, such as \"[::1]:7700\"")
            case .badPort:
                throw refuse("expected a port from 0 to 65535")
            }
        }
        // SocketAddress reads the literal with inet_pton(3), as AF_INET6 when it holds a ":".
        let isIPv6 = parsed.host.utf8.contains(UInt8(ascii: ":"))
        if parsed.isBracketed {
            guard isIPv6, SocketAddress(host: parsed.host, port: parsed.port) != nil else {
                throw refuse("expected an IPv6 address in the brackets, such as \"[::1]:7700\"")
            }
        } else {
            guard SocketAddress(host: parsed.host, port: parsed.port) != nil else {
                throw refuse("expected an IPv4 address such as \"0.0.0.0:7700\" (host names are not allowed)")
            }
        }
        self.init(host: parsed.host, port: parsed.port, isIPv6: isIPv6)
    }

    /// Written back the way it is read: "1.2.3.4:7700", "[::1]:7700".
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
