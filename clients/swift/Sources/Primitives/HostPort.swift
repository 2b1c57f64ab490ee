// "host:port" text as people write it — `0.0.0.0:7700`, `example.net:7700`, `[2001:db8::7]:7700` —
// split into its host and port. Only the shape is read here: whether the host is a valid address
// literal is inet_pton's question (Posix), and whether a name is allowed is the caller's.

public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    /// The host without brackets: "0.0.0.0", "::1", "example.net".
    public var host: String
    public var port: UInt16
    /// Whether the text had the host in brackets, as an IPv6 address must be.
    public var isBracketed: Bool

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
        isBracketed = host.contains(":")
    }

    /// Reads `host:port` or `[host]:port`. The port is 0–65535 in ASCII digits (no sign, at most five
    /// digits); an unbracketed host must not contain ":", since an IPv6 address would leave it
    /// ambiguous where the port starts.
    public init(parsing text: String) throws(PrimitivesError) {
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .missingBracket }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .missingPort }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .missingPort }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !hostText.contains(":") else { throw .unbracketedIPv6 }
        }
        guard !hostText.isEmpty else { throw .missingHost }
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy(isDigit),
            let port = UInt16(portText)
        else { throw .badPort }
        host = String(hostText)
        self.port = port
        isBracketed = text.hasPrefix("[")
    }

    /// `host:port`, with brackets around an IPv6 address.
    public var description: String {
        isBracketed ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// ASCII only: Swift's integer parsing would also take a sign, Character.isNumber other scripts' digits.
private func isDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte)
}
