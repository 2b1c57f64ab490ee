// Reading "host:port" the way the agent's --server flag and people write it.
import HeartbeatClient
import Testing

@Suite struct EndpointTests {
    @Test(arguments: [
        ("127.0.0.1:7700", "127.0.0.1", 7700),
        ("monitor.example.net:9", "monitor.example.net", 9),
        ("[::1]:7700", "::1", 7700),
        ("[2001:db8::7]:65535", "2001:db8::7", 65535),
        ("localhost:1", "localhost", 1),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let endpoint = try #require(Endpoint(parsing: text))
        #expect(endpoint.host == host)
        #expect(endpoint.port == UInt16(port))
        #expect(endpoint.description == text)
    }

    @Test(arguments: [
        "7700", "host", "host:", ":7700", "host:0", "host:65536", "host:77x", "::1:7700", "[::1]7700", "[::1",
        "[]:7700",
    ])
    func rejects(text: String) {
        #expect(Endpoint(parsing: text) == nil)
    }
}
