// The PROXY protocol header as a table: v1 and v2 that parse, their beginnings (incomplete), and the
// malformed, oversized and absent ones, each refused with its detail.
import Testing
import WireProtocol

private func parse(_ bytes: [UInt8]) -> ProxyHeader.Outcome {
    bytes.withUnsafeBytes { ProxyHeader.parse($0) }
}

private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

/// A v2 header: command (0 LOCAL, 1 PROXY), family/transport byte, then `body` (addresses and TLVs).
private func v2(command: UInt8 = 1, family: UInt8 = 0x11, body: [UInt8], length: Int? = nil) -> [UInt8] {
    let count = length ?? body.count
    return signature + [0x20 | command, family, UInt8(count >> 8), UInt8(count & 0xFF)] + body
}

private let ipv4Body: [UInt8] = [192, 0, 2, 7, 10, 0, 0, 1, 0xD4, 0x31, 0x1E, 0x14] // 192.0.2.7:54321 → 10.0.0.1:7700
private let ipv6Body: [UInt8] =
    [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [5] + Array(repeating: 0, count: 15) + [1]
    + [0x00, 0x50, 0x1E, 0x14]

@Suite struct ProxyHeaderTests {
    @Test(arguments: [
        (
            "PROXY TCP4 192.0.2.7 10.0.0.1 54321 7700\r\nHELLO a\n",
            ProxyHeader.source(.text("192.0.2.7", isIPv6: false), port: 54321), 42
        ),
        ("PROXY TCP6 2001:db8::5 ::1 80 7700\r\n", .source(.text("2001:db8::5", isIPv6: true), port: 80), 36),
        ("PROXY UNKNOWN\r\n", .local, 15),
        ("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", .local, 59),
        ("PROXY TCP4 0.0.0.0 0.0.0.0 0 65535\r\n", .source(.text("0.0.0.0", isIPv6: false), port: 0), 36),
    ])
    func parsesV1(text: String, header: ProxyHeader, length: Int) {
        #expect(parse(Array(text.utf8)) == .header(header, length: length))
    }

    @Test(arguments: [
        ("PROXY TCP4 192.0.2.7 10.0.0.1 54321 7700\n", "PROXY v1 header must end with CRLF"),
        ("PROXY TCP5 192.0.2.7 10.0.0.1 54321 7700\r\n", "PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN"),
        (
            "PROXY TCP4 192.0.2.7 10.0.0.1 54321\r\n",
            "PROXY v1 header needs <src> <dst> <sport> <dport>, one space apart"
        ),
        (
            "PROXY TCP4  192.0.2.7 10.0.0.1 54321 7700\r\n",
            "PROXY v1 header needs <src> <dst> <sport> <dport>, one space apart"
        ),
        ("PROXY TCP4 192.0.2.7 10.0.0.1 65536 7700\r\n", "PROXY v1 port must be 0 to 65535"),
        ("PROXY TCP4 192.0.2.7 10.0.0.1 054321 7700\r\n", "PROXY v1 port must be 0 to 65535"),
        ("PROXY TCP4 192.0.2.7 10.0.0.1 01 7700\r\n", "PROXY v1 port must be 0 to 65535"),
        ("PROXY TCP4 ::1 10.0.0.1 1 7700\r\n", "PROXY v1 address is malformed"),
        ("PROXY TCP4 192.0.2.7\t10.0.0.1 1 7700\r\n", "PROXY v1 header has byte 0x09"),
        ("PROXY\r\n", "PROXY header expected"),
        ("HELLO dev-1\n", "PROXY header expected"),
        ("GET / HTTP/1.1\r\n", "PROXY header expected"),
    ])
    func refusesBadV1(text: String, detail: String) {
        #expect(parse(Array(text.utf8)) == .failed(.badLine(detail)))
    }

    @Test func aV1HeaderWithoutItsEndIsRefusedAt107Bytes() {
        let long = Array("PROXY TCP4 ".utf8) + Array(repeating: UInt8(ascii: "1"), count: 96)
        #expect(long.count == 107)
        #expect(parse(Array(long.dropLast())) == .incomplete)
        #expect(parse(long) == .failed(.badLine("PROXY v1 header longer than 107 bytes")))
    }

    @Test(arguments: ["", "P", "PROXY", "PROXY ", "PROXY TCP4 192.0.2.7 10.0.0.1 54321 7700\r"])
    func aV1BeginningIsIncomplete(text: String) {
        #expect(parse(Array(text.utf8)) == .incomplete)
    }

    @Test func parsesV2() {
        #expect(parse(v2(body: ipv4Body)) == .header(.source(.ipv4([192, 0, 2, 7]), port: 54321), length: 28))
        let ipv6 = Array(ipv6Body[0..<16])
        #expect(parse(v2(family: 0x21, body: ipv6Body)) == .header(.source(.ipv6(ipv6), port: 80), length: 52))
        // TLVs after the addresses are skipped; the client's bytes start after them.
        let tlvs: [UInt8] = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]
        #expect(
            parse(v2(body: ipv4Body + tlvs) + Array("HELLO a\n".utf8))
                == .header(.source(.ipv4([192, 0, 2, 7]), port: 54321), length: 34))
        // LOCAL (a health check), AF_UNSPEC and AF_UNIX keep the connection's own address.
        #expect(parse(v2(command: 0, family: 0x00, body: [])) == .header(.local, length: 16))
        #expect(parse(v2(command: 0, family: 0x11, body: ipv4Body)) == .header(.local, length: 28))
        #expect(parse(v2(family: 0x31, body: Array(repeating: 0, count: 216))) == .header(.local, length: 232))
    }

    @Test func aV2BeginningIsIncomplete() {
        let whole = v2(body: ipv4Body)
        for count in [1, 5, 11, 12, 15, 16, 27] {
            #expect(parse(Array(whole[..<count])) == .incomplete, "\(count) bytes")
        }
    }

    @Test(arguments: [
        (v2(body: [1, 2, 3, 4]), "PROXY v2 address block too short for its family"),
        (v2(family: 0x21, body: ipv4Body), "PROXY v2 address block too short for its family"),
        (v2(family: 0x12, body: ipv4Body), "PROXY v2 transport 2 is not TCP"),
        (v2(command: 2, body: ipv4Body), "PROXY v2 command 2 is neither LOCAL nor PROXY"),
        (signature + [0x11, 0x11, 0, 12] + ipv4Body, "PROXY v2 header with version 1"),
        (v2(body: [], length: 600), "PROXY v2 header of 616 bytes; the limit is 536"),
        (v2(body: [], length: 0xFFFF), "PROXY v2 header of 65551 bytes; the limit is 536"),
        (Array(signature[..<5]) + [0x41], "PROXY header expected"),
    ])
    func refusesBadV2(bytes: [UInt8], detail: String) {
        #expect(parse(bytes) == .failed(.badLine(detail)))
    }
}
