import HeartbeatConfig
// [tcp]: defaults derived from [heartbeat] when keys are absent, explicit keys taken as given.
import Testing

@Test func derivesFromTheHeartbeatTimeout() throws {
    let tcp = try Config.parse(toml: "[heartbeat]\ninterval = \"20s\"\ntimeout_factor = 4").tcp
    #expect(tcp.keepaliveIdle == .seconds(80))
    #expect(tcp.keepaliveInterval == .seconds(5))
    #expect(tcp.keepaliveCount == 3)
    #expect(tcp.userTimeout == .seconds(95))
}

@Test func derivedUserTimeoutFollowsExplicitKeepalive() throws {
    let tcp = try Config.parse(
        toml: "[tcp]\nkeepalive_idle = \"60s\"\nkeepalive_interval = \"10s\"\nkeepalive_count = 6"
    ).tcp
    #expect(tcp.keepaliveIdle == .seconds(60))
    #expect(tcp.userTimeout == .seconds(120))
}

@Test func derivedIdleIsRoundedUpToWholeSeconds() throws {
    let tcp = try Config.parse(toml: "[heartbeat]\ninterval = \"1500ms\"\ntimeout_factor = 3").tcp
    #expect(tcp.keepaliveIdle == .seconds(5))
    #expect(tcp.userTimeout == .seconds(20))
}

@Test func derivedValuesAreClampedToWhatTheKernelTakes() throws {
    let short = try Config.parse(
        toml: "[heartbeat]\ninterval = \"100ms\"\ninterval_min = \"100ms\"\ntimeout_factor = 1"
    ).tcp
    #expect(short.keepaliveIdle == .seconds(1))
    let long = try Config.parse(
        toml: """
            [heartbeat]
            interval = "24h"
            interval_max = "24h"
            timeout_factor = 100
            [tcp]
            keepalive_interval = "32767s"
            keepalive_count = 127
            """
    ).tcp
    #expect(long.keepaliveIdle == .seconds(32767))
    #expect(long.userTimeout == .seconds(86400))
}

@Test func explicitKeysWin() throws {
    let tcp = try Config.parse(
        toml: """
            [tcp]
            keepalive_idle = "1s"
            keepalive_interval = "32767s"
            keepalive_count = 1
            user_timeout = "0s"
            """
    ).tcp
    #expect(tcp.keepaliveIdle == .seconds(1))
    #expect(tcp.keepaliveInterval == .seconds(32767))
    #expect(tcp.keepaliveCount == 1)
    #expect(tcp.userTimeout == .zero)
}

@Test(arguments: [
    ("keepalive_idle = \"0s\"", "tcp.keepalive_idle"),
    ("keepalive_idle = \"32768s\"", "tcp.keepalive_idle"),
    ("keepalive_idle = \"1500ms\"", "tcp.keepalive_idle"),
    ("keepalive_idle = 30", "tcp.keepalive_idle"),
    ("keepalive_interval = \"999ms\"", "tcp.keepalive_interval"),
    ("keepalive_interval = \"10h\"", "tcp.keepalive_interval"),
    ("keepalive_count = 0", "tcp.keepalive_count"),
    ("keepalive_count = 128", "tcp.keepalive_count"),
    ("user_timeout = \"25h\"", "tcp.user_timeout"),
    ("user_timeout = \"forever\"", "tcp.user_timeout"),
    ("keepalive = true", "tcp.keepalive"),
])
func refusesBadTCPValues(toml: String, key: String) {
    #expect(parseError("[tcp]\n" + toml)?.key == key)
}
