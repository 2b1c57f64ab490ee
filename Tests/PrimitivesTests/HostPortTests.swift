// Reading "host:port" as the daemon's `listen`, the agent's --server and the bench's --server write it.
import Primitives
import Testing

@Suite struct HostPortTests {
    @Test(arguments: [
        ("127.0.0.1:7700", "127.0.0.1", 7700, false),
        ("0.0.0.0:0", "0.0.0.0", 0, false),
        ("monitor.example.net:9", "monitor.example.net", 9, false),
        ("[::1]:7700", "::1", 7700, true),
        ("[2001:db8::7]:65535", "2001:db8::7", 65535, true),
        ("[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1, true),
    ])
    func reads(text: String, host: String, port: Int, isBracketed: Bool) throws {
        let parsed = try HostPort(parsing: text)
        #expect(parsed.host == host)
        #expect(parsed.port == UInt16(port))
        #expect(parsed.isBracketed == isBracketed)
        #expect(parsed.description == text)
    }

    @Test(arguments: [
        ("7700", PrimitivesError.missingPort), ("host", .missingPort), ("[::1]7700", .missingPort),
        ("[::1", .missingBracket), ("[]:7700", .missingHost), (":7700", .missingHost),
        ("::1:7700", .unbracketedIPv6), ("host:", .badPort), ("host:65536", .badPort), ("host:77x", .badPort),
        ("host:+77", .badPort), ("host:-1", .badPort), ("host:000007700", .badPort), ("host:٣", .badPort),
    ])
    func refuses(text: String, error: PrimitivesError) {
        #expect(throws: error) { try HostPort(parsing: text) }
    }
}
