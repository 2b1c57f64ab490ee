// The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) that a proxy in front of a listener
// sends before the client's first byte: where the connection really came from. Pure: bytes in, a value out.
//
//   v1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (or TCP6, or "PROXY UNKNOWN ...\r\n"), ≤ 107 bytes;
//   v2: 12-byte signature, version/command, family/transport, 2-byte length, addresses, TLVs (skipped).
// A header longer than `maxLength` is refused: a v2 header's TLVs may say 64 KiB, no proxy we know sends
// more than a few hundred bytes, and until it is whole the bytes wait in the session's partial line.

/// Where the header says the connection came from.
public enum ProxyHeader: Equatable, Sendable {
    /// A proxied TCP connection: its source. The address is raw bytes (v2, network order; 4 or 16 of them)
    /// or the literal text of v1, which the server reads with inet_pton.
    case source(ProxyAddress, port: UInt16)
    /// v2 LOCAL (the proxy's own health check), v1 UNKNOWN, or a family other than TCP over IPv4/IPv6:
    /// the connection's own peer address stands.
    case local

    /// The longest header accepted, v1 or v2.
    public static let maxLength = 536
    /// The longest v1 header, by the spec: "PROXY UNKNOWN" plus two IPv6 addresses, two ports and CRLF.
    public static let maxV1Length = 107

    static let v1Prefix: [UInt8] = Array("PROXY ".utf8)
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// What the first bytes of a connection hold.
    public enum Outcome: Equatable, Sendable {
        /// A whole header of `length` bytes; what follows it is the client's.
        case header(ProxyHeader, length: Int)
        /// A header's beginning: read more (the caller enforces its deadline).
        case incomplete
        /// Not a valid header: malformed, oversized, or no header at all.
        case failed(ProtocolError)
    }

    /// Reads a header at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if startsWith(bytes, v2Signature) { return parseV2(bytes) }
        if startsWith(bytes, v1Prefix) { return parseV1(bytes) }
        // Too few bytes to tell yet, but every one of them fits a header's start.
        if isPrefix(bytes, of: v2Signature) || isPrefix(bytes, of: v1Prefix) { return .incomplete }
        return .failed(.badLine("PROXY header expected"))
    }

    // MARK: v1

    private static func parseV1(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let limit = min(bytes.count, maxV1Length)
        guard let newline = (0..<limit).first(where: { bytes[$0] == ASCII.newline }) else {
            return bytes.count >= maxV1Length ? .failed(.badLine("PROXY v1 header longer than 107 bytes")) : .incomplete
        }
        guard newline > 0, bytes[newline - 1] == ASCII.carriageReturn else {
            return .failed(.badLine("PROXY v1 header must end with CRLF"))
        }
        let line = 0..<(newline - 1)
        if let bad = line.first(where: { !ASCII.isPrintable(bytes[$0]) }) {
            return .failed(.badLine("PROXY v1 header has byte \(ASCII.describe(bytes[bad]))"))
        }
        // Single spaces between exactly six fields, as the spec writes them.
        let fields = split(bytes, line)
        guard fields.count >= 2 else { return .failed(.badLine("PROXY v1 header without a protocol")) }
        let length = newline + 1
        if ASCII.matches(bytes, fields[1], "UNKNOWN") { return .header(.local, length: length) }
        let isIPv6: Bool
        if ASCII.matches(bytes, fields[1], "TCP4") {
            isIPv6 = false
        } else if ASCII.matches(bytes, fields[1], "TCP6") {
            isIPv6 = true
        } else {
            return .failed(.badLine("PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN"))
        }
        guard fields.count == 6, fields.allSatisfy({ !$0.isEmpty }) else {
            return .failed(.badLine("PROXY v1 header needs <src> <dst> <sport> <dport>, one space apart"))
        }
        for address in fields[2...3] {
            let allowed = address.allSatisfy { index in
                let byte = bytes[index]
                return isIPv6
                    ? ASCII.isHexDigit(byte) || byte == 0x3A || byte == 0x2E : ASCII.isDigit(byte) || byte == 0x2E
            }
            guard allowed, address.count <= 45 else { return .failed(.badLine("PROXY v1 address is malformed")) }
        }
        guard let sourcePort = port(bytes, fields[4]), port(bytes, fields[5]) != nil else {
            return .failed(.badLine("PROXY v1 port must be 0 to 65535"))
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[fields[2]]), as: UTF8.self)
        return .header(.source(.text(text, isIPv6: isIPv6), port: sourcePort), length: length)
    }

    /// Fields between single spaces; a double space makes an empty field (which the caller refuses).
    private static func split(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> [Range<Int>] {
        var fields: [Range<Int>] = []
        var start = line.lowerBound
        for index in line where bytes[index] == ASCII.space {
            fields.append(start..<index)
            start = index + 1
        }
        fields.append(start..<line.upperBound)
        return fields
    }

    /// 1 to 5 digits, no leading zero (but "0" itself), at most 65535.
    private static func port(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt16? {
        guard (1...5).contains(range.count), range.count == 1 || bytes[range.lowerBound] != ASCII.zero,
            let value = Digits.value(bytes, range), value <= UInt64(UInt16.max)
        else { return nil }
        return UInt16(value)
    }

    // MARK: v2

    private static func parseV2(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let fixed = 16
        guard bytes.count >= fixed else { return .incomplete }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else {
            return .failed(.badLine("PROXY v2 header with version \(versionCommand >> 4)"))
        }
        let command = versionCommand & 0x0F
        guard command <= 1 else { return .failed(.badLine("PROXY v2 command \(command) is neither LOCAL nor PROXY")) }
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        let length = fixed + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard length <= maxLength else {
            return .failed(.badLine("PROXY v2 header of \(length) bytes; the limit is \(maxLength)"))
        }
        guard bytes.count >= length else { return .incomplete }
        guard command == 1, family == 1 || family == 2 else {
            // LOCAL, AF_UNSPEC or AF_UNIX: the spec says to use the connection's own addresses.
            return .header(.local, length: length)
        }
        guard transport == 1 else { return .failed(.badLine("PROXY v2 transport \(transport) is not TCP")) }
        let addressLength = family == 1 ? 4 : 16
        guard length - fixed >= 2 * addressLength + 4 else {
            return .failed(.badLine("PROXY v2 address block too short for its family"))
        }
        let address = Array(bytes[fixed..<(fixed + addressLength)])
        let portOffset = fixed + 2 * addressLength
        let port = UInt16(bytes[portOffset]) << 8 | UInt16(bytes[portOffset + 1])
        return .header(.source(family == 1 ? .ipv4(address) : .ipv6(address), port: port), length: length)
    }

    // MARK: Prefixes

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && prefix.indices.allSatisfy { bytes[$0] == prefix[$0] }
    }

    private static func isPrefix(_ bytes: UnsafeRawBufferPointer, of signature: [UInt8]) -> Bool {
        bytes.count < signature.count && bytes.indices.allSatisfy { bytes[$0] == signature[$0] }
    }
}

/// A source address as the header gave it.
public enum ProxyAddress: Equatable, Sendable {
    /// Four bytes, network order.
    case ipv4([UInt8])
    /// Sixteen bytes, network order.
    case ipv6([UInt8])
    /// v1's literal, in the family its protocol word named; checked by the reader (inet_pton).
    case text(String, isIPv6: Bool)
}
