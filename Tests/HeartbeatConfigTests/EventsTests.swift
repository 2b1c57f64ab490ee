import HeartbeatConfig
// [events]: offline_grace within 0s...1h.
import Testing

@Test(arguments: [
    ("offline_grace = \"0s\"", defaults { $0.events.offlineGrace = .zero }),
    ("offline_grace = \"250ms\"", defaults { $0.events.offlineGrace = .milliseconds(250) }),
    ("offline_grace = \"1h\"", defaults { $0.events.offlineGrace = .seconds(3600) }),
])
func setsEventsKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[events]\n" + toml) == expected)
}

@Test(arguments: [
    ("offline_grace = \"61m\"", "events.offline_grace"),
    ("offline_grace = 5", "events.offline_grace"),
    ("offline_grace = \"-1s\"", "events.offline_grace"),
    ("grace = \"5s\"", "events.grace"),
])
func refusesBadEventsValues(toml: String, key: String) {
    #expect(parseError("[events]\n" + toml)?.key == key)
}
