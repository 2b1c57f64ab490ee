import HeartbeatConfig
// ListenAddress parsing and rendering, as tables.
import Testing

@Test(arguments: [
    ("0.0.0.0:7700", "0.0.0.0", 7700, false),
    ("127.0.0.1:0", "127.0.0.1", 0, false),
    ("255.255.255.255:65535", "255.255.255.255", 65535, false),
    ("[::]:7700", "::", 7700, true),
    ("[::1]:80", "::1", 80, true),
    ("[fe80::1:2]:1", "fe80::1:2", 1, true),
    ("[2001:db8:0:0:0:0:0:1]:443", "2001:db8:0:0:0:0:0:1", 443, true),
    ("[::ffff:10.0.0.1]:7700", "::ffff:10.0.0.1", 7700, true),
    ("[1:2:3:4:5:6:1.2.3.4]:9", "1:2:3:4:5:6:1.2.3.4", 9, true),
    ("[ABCD::]:9", "ABCD::", 9, true),
])
func parsesAddresses(text: String, host: String, port: Int, isIPv6: Bool) throws {
    let address = try ListenAddress(parsing: text)
    #expect(address == ListenAddress(host: host, port: UInt16(port), isIPv6: isIPv6))
    #expect(address.description == text)
}

@Test(arguments: [
    "", "7700", ":7700", "1.2.3:80", "1.2.3.4", "1.2.3.4:", "1.2.3.4.5:80", "256.0.0.1:80", "01.2.3.4:80",
    "1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:+80", "1.2.3.4:-1", "1.2.3.4:080000", "1.2.3.4: 80",
    "host:99999", "localhost:7700", "example.com:80", "::1:80", "[::1]", "[::1]80", "[::1:80", "[]:80",
    "[:::]:80", "[1::2::3]:80", "[12345::]:80", "[g::]:80", "[1:2:3:4:5:6:7:8:9]:80", "[1:2:3:4:5:6:7]:80",
    "[1:2:3:4:5:6:7:8::]:80", "[:1::]:80", "[1.2.3.4::]:80", "[::1.2.3]:80", "[fe80::1%eth0]:80",
    "[::1]:80x", "1.2.3.4:８０",
])
func refusesBadAddresses(text: String) {
    #expect(throws: ConfigError.self) { try ListenAddress(parsing: text) }
}

@Test func errorNamesTheListenKeyAndTheValue() {
    let error = #expect(throws: ConfigError.self) { try ListenAddress(parsing: "localhost:7700") }
    #expect(error?.key == "listen")
    #expect(error?.message.contains("\"localhost:7700\"") == true)
    #expect(error?.message.contains("host names are not allowed") == true)
}
