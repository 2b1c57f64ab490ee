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
])
func refusesBadLimitsValues(toml: String, key: String) {
    #expect(parseError("[limits]\n" + toml)?.key == key)
}

@Test func openEndedRangeSaysAtLeast() {
    #expect(parseError("[limits]\nmax_clients = 0")?.message == "expected an integer of at least 1, got 0")
}
