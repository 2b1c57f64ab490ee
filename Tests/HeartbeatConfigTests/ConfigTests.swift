// Config as a whole: defaults, the shipped file, top-level keys, syntax and unknown-key errors,
// the rendered() round trip and which changes need a restart.
import Foundation
import HeartbeatConfig
import Testing

/// The error parse(toml:) throws for `toml`, or nil if it parses.
func parseError(_ toml: String) -> ConfigError? {
    do {
        _ = try Config.parse(toml: toml)
        return nil
    } catch {
        return error
    }
}

/// Config.defaults with `change` applied.
func defaults(_ change: (inout Config) -> Void) -> Config {
    var config = Config.defaults
    change(&config)
    return config
}

@Test func emptyFileGivesTheDefaults() throws {
    #expect(try Config.parse(toml: "") == Config.defaults)
    #expect(
        try Config.parse(
            toml: "# nothing\n\n[heartbeat]\n[limits]\n[tcp]\n[log]\n[control]\n[events]\n[metrics]\n[auth]\n")
            == Config.defaults)
}

@Test func defaultsAreTheDocumentedValues() {
    let config = Config.defaults
    #expect(config.listen.map(\.description) == ["0.0.0.0:7700"])
    #expect(config.workers == .count(1))
    #expect(config.drainTimeout == .seconds(5))
    #expect(config.heartbeat.interval == .seconds(10))
    #expect(config.limits.maxLine == 256)
    #expect(config.tcp.keepaliveIdle == .seconds(30))
    #expect(config.tcp.userTimeout == .seconds(45))
    #expect(config.log.level == .info)
    #expect(config.control.socket == "/run/heartbeatd/control.sock")
    #expect(config.control.group == "")
    #expect(config.events.offlineGrace == .zero)
    #expect(config.metrics.listen == nil)
    #expect(config.auth.mode == .off)
    #expect(config.auth.secretFile == "")
}

@Suite struct ShippedFile {
    let text: String

    init() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/heartbeatd.toml").path
        text = try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func parsesToTheDefaults() throws {
        #expect(try Config.parse(toml: text) == Config.defaults)
    }

    /// The commented-out settings ("#key = value") state the real defaults: set them all and nothing changes.
    @Test func itsCommentedSettingsAreTheDefaults() throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let settings = lines.filter { $0.hasPrefix("#") && !$0.hasPrefix("# ") && $0.contains(" = ") }
        let keyCount = Config.defaults.rendered().split(separator: "\n").filter { $0.contains(" = ") }.count
        #expect(settings.count == keyCount)
        let uncommented = lines.map { settings.contains($0) ? $0.dropFirst() : $0 }.joined(separator: "\n")
        #expect(try Config.parse(toml: uncommented) == Config.defaults)
    }

    /// heartbeatd.toml(5) has a section for every table and an entry for every key the config renders.
    @Test func theManPageNamesEveryKey() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/heartbeatd.toml.5").path
        let page = try String(contentsOfFile: path, encoding: .utf8)
        let quoting = CharacterSet(charactersIn: "\",\\")
        let entries = Set(
            page.split(separator: "\n").filter { $0.hasPrefix(".B ") || $0.hasPrefix(".BR ") }.flatMap {
                $0.split(separator: " ").dropFirst().map { String($0.trimmingCharacters(in: quoting)) }
            })
        for line in Config.defaults.rendered().split(separator: "\n") {
            if line.hasPrefix("[") {
                #expect(page.contains(".SH \(line)"), "no section \(line)")
            } else if let key = line.split(separator: " ").first {
                #expect(entries.contains(String(key)), "no entry for \(key)")
            }
        }
    }
}

@Test(arguments: [
    ("listen = [\"127.0.0.1:0\"]", defaults { $0.listen = [ListenAddress(host: "127.0.0.1", port: 0, isIPv6: false)] }),
    (
        "listen = [\"0.0.0.0:7700\", \"[::]:7700\"]",
        defaults {
            $0.listen = [
                ListenAddress(host: "0.0.0.0", port: 7700, isIPv6: false),
                ListenAddress(host: "::", port: 7700, isIPv6: true),
            ]
        }
    ),
    (
        "listen = [\"127.0.0.1:0\", \"127.0.0.1:0\"]",
        defaults {
            $0.listen = Array(repeating: ListenAddress(host: "127.0.0.1", port: 0, isIPv6: false), count: 2)
        }
    ),
    ("workers = \"auto\"", defaults { $0.workers = .auto }),
    ("workers = 256", defaults { $0.workers = .count(256) }),
    ("drain_timeout = \"0s\"", defaults { $0.drainTimeout = .zero }),
    ("drain_timeout = \"1h\"", defaults { $0.drainTimeout = .seconds(3600) }),
])
func setsTopLevelKeys(toml: String, expected: Config) throws {
    #expect(try Config.parse(toml: toml) == expected)
}

@Test(arguments: [
    ("listen = \"0.0.0.0:7700\"", "listen"),
    ("listen = []", "listen"),
    ("listen = [7700]", "listen[0]"),
    ("listen = [\"1.2.3:80\"]", "listen[0]"),
    ("listen = [\"0.0.0.0:7700\", \"1.2.3.4\"]", "listen[1]"),
    ("listen = [\"0.0.0.0:7700\", \"[::1]\"]", "listen[1]"),
    ("listen = [\"host:99999\"]", "listen[0]"),
    ("listen = [\"0.0.0.0:7700\", \"[::]:7700\", \"0.0.0.0:7700\"]", "listen[2]"),
    ("workers = 0", "workers"),
    ("workers = 257", "workers"),
    ("workers = \"all\"", "workers"),
    ("workers = 1.0", "workers"),
    ("drain_timeout = \"2h\"", "drain_timeout"),
    ("drain_timeout = 5", "drain_timeout"),
    ("listn = [\"0.0.0.0:7700\"]", "listn"),
    ("[heartbeet]\ninterval = \"10s\"", "heartbeet"),
    ("heartbeat = 5", "heartbeat"),
    ("[contrl]\nsocket = \"/run/x\"", "contrl"),
    ("control = \"/run/x\"", "control"),
    ("auth = \"hmac\"", "auth"),
])
func refusesBadTopLevelValues(toml: String, key: String) {
    #expect(parseError(toml)?.key == key)
}

@Test func errorsShowTheValueAndWhatWasExpected() {
    let duration = parseError("[heartbeat]\ninterval = 10")
    #expect(
        duration?.description
            == #"heartbeat.interval: expected a duration with a unit (ms, s, m, h) such as "10s", got 10"#)
    let range = parseError("[limits]\nmax_line = 10")
    #expect(range?.description == "limits.max_line: expected an integer from 64 to 65536, got 10")
    let duplicate = parseError("listen = [\"0.0.0.0:1\", \"0.0.0.0:1\"]")
    #expect(duplicate?.description == #"listen[1]: "0.0.0.0:1" is already listen[0]"#)
}

@Test func unknownKeysAreNamedWithTheValidOnes() {
    let nested = parseError("[heartbeat]\nintervall = \"10s\"")
    #expect(nested?.key == "heartbeat.intervall")
    #expect(
        nested?.message
            == "unknown key (valid in [heartbeat]: interval, interval_min, interval_max, timeout_factor, hello_timeout, tick, pong)"
    )
    let top = parseError("colour = \"blue\"")
    #expect(
        top?.description
            == "colour: unknown key (valid at the top level: listen, backlog, workers, busy_poll_us, drain_timeout, heartbeat, limits, tcp, log, control, events, metrics, auth, tls, cluster, restart, proxy)"
    )
}

@Test(arguments: ["listen = ", "[heartbeat\n", "a = 1\na = 2", "x = \"unterminated", "workers = 1 2"])
func syntaxErrorsHaveNoKeyAndSayWhere(toml: String) {
    let error = parseError(toml)
    #expect(error?.key == "")
    #expect(error?.message.hasPrefix("invalid TOML at line ") == true)
}

@Test func syntaxErrorReportsItsLine() {
    let error = parseError("workers = 1\n\n[log]\nlevel = = \"info\"\n")
    #expect(error?.message.hasPrefix("invalid TOML at line 4, column") == true)
}

@Test func renderedDefaultsReadBackEqual() throws {
    let text = Config.defaults.rendered()
    #expect(try Config.parse(toml: text) == Config.defaults)
    #expect(
        text.hasPrefix(
            "listen = [\"0.0.0.0:7700\"]\nbacklog = 4096\nworkers = 1\nbusy_poll_us = 100\ndrain_timeout = \"5s\"\n\n[heartbeat]\n"
        ))
}

@Test func renderedChangedConfigReadsBackEqual() throws {
    let config = defaults {
        $0.listen = [
            ListenAddress(host: "127.0.0.1", port: 0, isIPv6: false),
            ListenAddress(host: "::ffff:10.0.0.1", port: 9, isIPv6: true),
        ]
        $0.workers = .auto
        $0.busyPollMicroseconds = 0
        $0.drainTimeout = .milliseconds(1500)
        $0.heartbeat.interval = .milliseconds(250)
        $0.heartbeat.intervalMin = .milliseconds(20)
        $0.heartbeat.intervalMax = .seconds(7200)
        $0.heartbeat.timeoutFactor = 7
        $0.heartbeat.helloTimeout = .milliseconds(100)
        $0.heartbeat.tick = .milliseconds(10)
        $0.heartbeat.pong = false
        $0.limits.maxLine = 65536
        $0.limits.maxClients = 1
        $0.limits.maxClientsPerAddress = 12
        $0.tcp.keepaliveIdle = .seconds(32767)
        $0.tcp.keepaliveInterval = .seconds(1)
        $0.tcp.keepaliveCount = 127
        $0.tcp.userTimeout = .zero
        $0.log.level = .critical
        $0.log.sessions = false
        $0.control.socket = ""
        $0.control.group = "heartbeat-ops"
        $0.events.offlineGrace = .seconds(30)
        $0.metrics.listen = ListenAddress(host: "::1", port: 9464, isIPv6: true)
        $0.auth.mode = .hmac
        $0.auth.secretFile = "/etc/heartbeatd/secret \"quoted\""
    }
    let text = config.rendered()
    #expect(try Config.parse(toml: text) == config)
    #expect(text.contains("workers = \"auto\"\n"))
    #expect(text.contains("interval_max = \"2h\"\n"))
}

@Test func onlySocketsWorkersAndTheControlGroupNeedARestart() {
    let old = Config.defaults
    let live = defaults {
        $0.drainTimeout = .seconds(1)
        $0.heartbeat.interval = .seconds(20)
        $0.limits.maxClients = 5
        $0.tcp.keepaliveCount = 9
        $0.log.level = .debug
        $0.events.offlineGrace = .seconds(10)
        $0.auth.mode = .hmac
        $0.auth.secretFile = "/etc/heartbeatd/secret"
    }
    #expect(live.restartRequiredChanges(comparedTo: old) == [])
    let moved = defaults { $0.listen = [ListenAddress(host: "::", port: 7700, isIPv6: true)] }
    #expect(moved.restartRequiredChanges(comparedTo: old) == ["listen"])
    #expect(defaults { $0.backlog = 128 }.restartRequiredChanges(comparedTo: old) == ["backlog"])
    let both = defaults {
        $0.listen.append(ListenAddress(host: "127.0.0.1", port: 7701, isIPv6: false))
        $0.workers = .auto
        $0.log.sessions = false
    }
    #expect(both.restartRequiredChanges(comparedTo: old) == ["listen", "workers"])
    #expect(old.restartRequiredChanges(comparedTo: both) == ["listen", "workers"])
    let operatorSockets = defaults {
        $0.control.socket = "/run/other.sock"
        $0.control.group = "wheel"
        $0.metrics.listen = ListenAddress(host: "127.0.0.1", port: 9464, isIPv6: false)
    }
    #expect(
        operatorSockets.restartRequiredChanges(comparedTo: old) == [
            "control.socket", "control.group", "metrics.listen",
        ])
}
