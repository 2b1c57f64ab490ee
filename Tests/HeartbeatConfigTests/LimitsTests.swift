import HeartbeatConfig
// [limits]: each key set to a good value, each bad value refused under its own key.
import Testing

@Test(arguments: [
    ("max_line = 64", defaults { $0.limits.maxLine = 64 }),
    ("max_line = 65536", defaults { $0.limits.maxLine = 65536 }),
    ("max_clients = 1", defaults { $0.limits.maxClients = 1 }),
    ("max_clients = 9223372036854775807", defaults { $0.limits.maxClients = .max }),
    ("max_clients_per_address = 0", defaults { $0.limits.maxClientsPerAddress = 0 }),
    ("max_clients_per_address = 50", defaults { $0.limits.maxClientsPerAddress = 50 }),
    ("connect_rate = 0", defaults { $0.limits.connectRate = 0 }),
    ("connect_rate = 1000000", defaults { $0.limits.connectRate = 1_000_000 }),
    ("connect_burst = 1", defaults { $0.limits.connectBurst = 1 }),
    (
        "connect_rate = 5\nconnect_burst = 50",
        defaults {
            $0.limits.connectRate = 5
            $0.limits.connectBurst = 50
        }
    ),
])
func setsLimitsKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: "[limits]\n" + toml) == expected)
}

@Test(arguments: [
    ("max_line = 63", "limits.max_line"),
    ("max_line = 65537", "limits.max_line"),
    ("max_line = \"256\"", "limits.max_line"),
    ("max_clients = 0", "limits.max_clients"),
    ("max_clients = -1", "limits.max_clients"),
    ("max_clients = 1e6", "limits.max_clients"),
    ("max_clients_per_address = -1", "limits.max_clients_per_address"),
    ("max_clients_per_address = false", "limits.max_clients_per_address"),
    ("max_connections = 5", "limits.max_connections"),
    ("connect_rate = -1", "limits.connect_rate"),
    ("connect_rate = 1000001", "limits.connect_rate"),
    ("connect_rate = 2.5", "limits.connect_rate"),
    ("connect_burst = -1", "limits.connect_burst"),
    ("connect_burst = \"20\"", "limits.connect_burst"),
])
func refusesBadLimitsValues(toml: String, key: String) {
    #expect(parseError("[limits]\n" + toml)?.key == key)
}

@Test func openEndedRangeSaysAtLeast() {
    #expect(parseError("[limits]\nmax_clients = 0")?.message == "expected an integer of at least 1, got 0")
}

@Test func connectRateIsOffByDefaultAndTheBurstFollowsTheRate() throws {
    #expect(Config.defaults.limits.connectRate == 0)
    let rate = try Config.parse(toml: "[limits]\nconnect_rate = 20")
    #expect(rate.limits.connectBurst == 0 && rate.limits.effectiveConnectBurst == 20)
    let burst = try Config.parse(toml: "[limits]\nconnect_rate = 20\nconnect_burst = 200")
    #expect(burst.limits.effectiveConnectBurst == 200)
}

@Test(arguments: [("backlog = 1", 1), ("backlog = 4096", 4096), ("backlog = 65535", 65535)])
func setsTheBacklog(toml: String, backlog: Int) throws {
    #expect(try Config.parse(toml: toml) == defaults { $0.backlog = backlog })
}

@Test(arguments: ["backlog = 0", "backlog = 65536", "backlog = -1", "backlog = \"4096\"", "backlog = 4096.0"])
func refusesABadBacklog(toml: String) {
    let error = parseError(toml)
    #expect(error?.key == "backlog")
    #expect(error?.message.hasPrefix("expected an integer from 1 to 65535") == true)
}

@Test(arguments: [("busy_poll_us = 0", 0), ("busy_poll_us = 50", 50), ("busy_poll_us = 1000", 1000)])
func setsTheBusyPoll(toml: String, microseconds: Int) throws {
    #expect(Config.defaults.busyPollMicroseconds == 100)
    #expect(try Config.parse(toml: toml) == defaults { $0.busyPollMicroseconds = microseconds })
}

@Test(arguments: ["busy_poll_us = -1", "busy_poll_us = 1001", "busy_poll_us = \"50us\"", "busy_poll_us = 5.0"])
func refusesABadBusyPoll(toml: String) {
    let error = parseError(toml)
    #expect(error?.key == "busy_poll_us")
    #expect(error?.message.hasPrefix("expected an integer from 0 to 1000") == true)
}
