// One `listen` entry: a numeric IPv4 or IPv6 address and a port. Host names are refused on purpose:
// the daemon binds before anything else runs, and a name that resolves differently later is a surprise.

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

    /// Reads "1.2.3.4:7700" or "[::1]:7700". IPv6 is checked loosely (hex groups, at most one "::",
    /// an IPv4 tail) and kept as written, not normalised. Errors name the key "listen".
    public init(parsing text: String) throws(ConfigError) {
        func refuse(_ why: String) -> ConfigError {
            ConfigError(key: "listen", message: "\(why), got \(tomlQuoted(text))")
        }
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw refuse("expected an IPv6 address in brackets and a port, such as \"[::]:7700\"")
            }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw refuse("expected a port after the brackets, such as \"[::]:7700\"")
            }
            portText = rest.dropFirst()
            guard Self.isIPv6(hostText) else {
                throw refuse("expected an IPv6 address in the brackets, such as \"[::1]:7700\"")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw refuse("expected an address and a port, such as \"0.0.0.0:7700\" or \"[::]:7700\"")
            }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostText.contains(":") else {
                throw refuse("an IPv6 address needs brackets, such as \"[::1]:7700\"")
            }
            guard Self.isIPv4(hostText) else {
                throw refuse("expected an IPv4 address such as \"0.0.0.0:7700\" (host names are not allowed)")
            }
        }
        guard portText.utf8.count <= 5, isDecimal(portText), let port = UInt16(portText) else {
            throw refuse("expected a port from 0 to 65535")
        }
        self.init(host: String(hostText), port: port, isIPv6: text.hasPrefix("["))
    }

    /// Written back the way it is read: "1.2.3.4:7700", "[::1]:7700".
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Four decimal parts 0...255 without leading zeros (inet_aton would read "010" as octal).
    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            isDecimal(part) && part.utf8.count <= 3 && (part == "0" || !part.hasPrefix("0"))
                && (Int(part) ?? 256) <= 255
        }
    }

    /// Eight groups of 1–4 hex digits, or fewer around one "::"; the last 32 bits may be an IPv4 address.
    static func isIPv6(_ text: Substring) -> Bool {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return false }
        var groups = 0
        for (halfIndex, half) in halves.enumerated() where !half.isEmpty {
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (partIndex, part) in parts.enumerated() {
                if part.contains(".") {
                    let isLast = halfIndex == halves.count - 1 && partIndex == parts.count - 1
                    guard isLast, isIPv4(part) else { return false }
                    groups += 2
                } else {
                    guard (1...4).contains(part.utf8.count), part.utf8.allSatisfy(isHexDigit) else { return false }
                    groups += 1
                }
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }
}

/// ASCII digits only: Swift's integer parsing would also take a sign.
func isDecimal(_ text: Substring) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
}

/// ASCII only: Character.isHexDigit would also take full-width digits.
private func isHexDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
}
