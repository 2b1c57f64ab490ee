import HeartbeatConfig
// [log]: every level name, sessions, and the values refused.
import Testing

@Test(arguments: LogLevel.allCases)
func readsEveryLevel(level: LogLevel) throws {
    #expect(try Config.parse(toml: "[log]\nlevel = \"\(level.rawValue)\"").log.level == level)
}

@Test func readsSessions() throws {
    #expect(try Config.parse(toml: "[log]\nsessions = false") == defaults { $0.log.sessions = false })
}

@Test(arguments: [
    ("level = \"verbose\"", "log.level"),
    ("level = \"INFO\"", "log.level"),
    ("level = 3", "log.level"),
    ("sessions = \"true\"", "log.sessions"),
    ("colour = true", "log.colour"),
])
func refusesBadLogValues(toml: String, key: String) {
    #expect(parseError("[log]\n" + toml)?.key == key)
}

@Test func badLevelListsTheNames() {
    #expect(
        parseError("[log]\nlevel = \"verbose\"")?.message
            == #"expected one of "trace", "debug", "info", "notice", "warning", "error", "critical", got "verbose""#)
}

@Test func levelsAreOrderedBySeverity() {
    #expect(LogLevel.trace < .debug)
    #expect(LogLevel.warning < .critical)
    #expect(!(LogLevel.error < .notice))
}
