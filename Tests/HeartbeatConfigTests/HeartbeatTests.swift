import HeartbeatConfig
// [heartbeat]: each key set to a good value, each bad value refused under its own key.
// Changing interval or timeout_factor also moves the derived [tcp] defaults.
import Testing

@Test(arguments: [
    (
        "interval = \"250ms\"\ninterval_min = \"100ms\"",
        defaults {
            $0.heartbeat.interval = .milliseconds(250)
            $0.heartbeat.intervalMin = .milliseconds(100)
            $0.tcp.keepaliveIdle = .seconds(1)
            $0.tcp.userTimeout = .seconds(16)
        }
    ),
    (
        "interval = \"5m\"",
        defaults {
            $0.heartbeat.interval = .seconds(300)
            $0.tcp.keepaliveIdle = .seconds(900)
            $0.tcp.userTimeout = .seconds(915)
        }
    ),
    ("interval_min = \"10s\"", defaults { $0.heartbeat.intervalMin = .seconds(10) }),
    ("interval_max = \"24h\"", defaults { $0.heartbeat.intervalMax = .seconds(86400) }),
    ("interval_max = \"10s\"", defaults { $0.heartbeat.intervalMax = .seconds(10) }),
    (
        "timeout_factor = 1",
        defaults {
            $0.heartbeat.timeoutFactor = 1
            $0.tcp.keepaliveIdle = .seconds(10)
            $0.tcp.userTimeout = .seconds(25)
        }
    ),
    (
        "timeout_factor = 100",
        defaults {
            $0.heartbeat.timeoutFactor = 100
            $0.tcp.keepaliveIdle = .seconds(1000)
            $0.tcp.userTimeout = .seconds(1015)
        }
    ),
    ("hello_timeout = \"100ms\"", defaults { $0.heartbeat.helloTimeout = .milliseconds(100) }),
    ("hello_timeout = \"1h\"", defaults { $0.heartbeat.helloTimeout = .seconds(3600) }),
    ("tick = \"1ms\"", defaults { $0.heartbeat.tick = .milliseconds(1) }),
    ("tick = \"1s\"", defaults { $0.heartbeat.tick = .seconds(1) }),
    ("pong = false", defaults { $0.heartbeat.pong = false }),
])
func setsHeartbeatKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[heartbeat]\n" + toml) == expected)
}

@Test(arguments: [
    ("interval = 10", "heartbeat.interval"),
    ("interval = \"10\"", "heartbeat.interval"),
    ("interval = \"-10s\"", "heartbeat.interval"),
    ("interval = \"1.5s\"", "heartbeat.interval"),
    ("interval = \"10 s\"", "heartbeat.interval"),
    ("interval = \"10sec\"", "heartbeat.interval"),
    ("interval = \"99999999999999999999s\"", "heartbeat.interval"),
    ("interval = \"0s\"", "heartbeat.interval"),
    ("interval = \"500ms\"", "heartbeat.interval"),
    ("interval = \"301s\"", "heartbeat.interval"),
    ("interval = true", "heartbeat.interval"),
    ("interval_min = \"50ms\"", "heartbeat.interval_min"),
    ("interval_min = [\"1s\"]", "heartbeat.interval_min"),
    ("tick = \"500ms\"\ninterval_min = \"400ms\"\ninterval = \"1s\"", "heartbeat.interval_min"),
    ("interval_max = \"25h\"", "heartbeat.interval_max"),
    ("interval_max = \"500ms\"", "heartbeat.interval_max"),
    ("timeout_factor = 0", "heartbeat.timeout_factor"),
    ("timeout_factor = 101", "heartbeat.timeout_factor"),
    ("timeout_factor = \"3\"", "heartbeat.timeout_factor"),
    ("timeout_factor = 2.5", "heartbeat.timeout_factor"),
    ("hello_timeout = \"99ms\"", "heartbeat.hello_timeout"),
    ("hello_timeout = \"61m\"", "heartbeat.hello_timeout"),
    ("tick = \"0ms\"", "heartbeat.tick"),
    ("tick = \"2s\"", "heartbeat.tick"),
    ("tick = 100", "heartbeat.tick"),
    ("pong = \"yes\"", "heartbeat.pong"),
    ("pong = 1", "heartbeat.pong"),
    ("intervall = \"10s\"", "heartbeat.intervall"),
    ("[heartbeat.extra]\nx = 1", "heartbeat.extra"),
])
func refusesBadHeartbeatValues(toml: String, key: String) {
    #expect(parseError("[heartbeat]\n" + toml)?.key == key)
}

@Test func crossKeyErrorsSayWhichLimitWasBroken() {
    #expect(
        parseError("[heartbeat]\ninterval = \"10m\"")?.message
            == #"must be from interval_min (1s) to interval_max (5m), got "10m""#)
    #expect(
        parseError("[heartbeat]\ninterval_min = \"50ms\"")?.message
            == #"must be at least tick (100ms), got "50ms""#)
}

@Test func timeoutIsIntervalTimesFactor() throws {
    let config = try Config.parse(toml: "[heartbeat]\ninterval = \"2s\"\ntimeout_factor = 4")
    #expect(config.heartbeat.timeout == .seconds(8))
}
