import HeartbeatConfig
// [metrics]: listen is "" (off) or one address; errors are named metrics.listen, not listen.
import Testing

@Test(arguments: [
    ("listen = \"\"", defaults { $0.metrics.listen = nil }),
    (
        "listen = \"127.0.0.1:9464\"",
        defaults { $0.metrics.listen = ListenAddress(host: "127.0.0.1", port: 9464, isIPv6: false) }
    ),
    ("listen = \"[::1]:0\"", defaults { $0.metrics.listen = ListenAddress(host: "::1", port: 0, isIPv6: true) }),
])
func setsMetricsKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[metrics]\n" + toml) == expected)
}

@Test(arguments: [
    ("listen = \"localhost:9464\"", "metrics.listen"),
    ("listen = \"127.0.0.1\"", "metrics.listen"),
    ("listen = [\"127.0.0.1:9464\"]", "metrics.listen"),
    ("listen = 9464", "metrics.listen"),
    ("path = \"/metrics\"", "metrics.path"),
])
func refusesBadMetricsValues(toml: String, key: String) {
    #expect(parseError("[metrics]\n" + toml)?.key == key)
}

@Test func badMetricsAddressSaysWhy() {
    #expect(
        parseError("[metrics]\nlisten = \"127.0.0.1:70000\"")?.description
            == #"metrics.listen: expected a port from 0 to 65535, got "127.0.0.1:70000""#)
}
