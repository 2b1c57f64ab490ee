import Foundation
import Glibc
// Configuration errors as an operator meets them (DESIGN §7, §8): each bad file, flag or address
// exits 1 with one message that names it; --check-config prints the effective config.
import TestSupport
import Testing

@Suite struct ConfigTests {
    /// A usage error is the argument parser's 64 (EX_USAGE), apart from a bad configuration's 1.
    @Test(arguments: [["--bogus"], ["--config"], ["--listen"], ["extra"]])
    func usageErrorExitsWith64(arguments: [String]) async throws {
        let run = try await runHeartbeatd(arguments)
        #expect(run.status == 64, "\(arguments): \(run.standardError)")
        #expect(run.standardError.contains("Usage: heartbeatd"), "\(run.standardError)")
    }

    @Test(arguments: [
        ("[heartbeat]\nbogus = 1\n", "heartbeat.bogus"),
        ("colour = \"blue\"\n", "colour"),
        ("[heartbeat]\ninterval = \"10\"\n", "heartbeat.interval"),
        ("drain_timeout = \"5 seconds\"\n", "drain_timeout"),
        ("[limits]\nmax_line = 10\n", "limits.max_line"),
        ("[heartbeat]\ntimeout_factor = 1000\n", "heartbeat.timeout_factor"),
        ("workers = 0\n", "workers"),
        ("listen = [\"localhost:7700\"]\n", "listen[0]"),
        ("listen = [\"127.0.0.1:70000\"]\n", "listen[0]"),
        ("[heartbeat\n", "line 1"),
    ])
    func badFileExitsOneNamingTheKey(text: String, key: String) async throws {
        let path = try configFile(text)
        for arguments in [["--config", path, "--listen", "127.0.0.1:0"], ["--check-config", "--config", path]] {
            let run = try await runHeartbeatd(arguments)
            #expect(run.status == 1, "\(arguments): \(run.standardError)")
            #expect(run.errorLines.count == 1, "\(run.standardError)")
            #expect(run.standardError.contains(key), "\(run.standardError)")
            #expect(run.standardOutput.isEmpty)
        }
    }

    @Test func unreadableFile() async throws {
        let path = temporaryDirectory().appendingPathComponent("missing.toml").path
        let run = try await runHeartbeatd(["--config", path])
        #expect(run.status == 1)
        #expect(run.errorLines.count == 1, "\(run.standardError)")
        #expect(run.standardError.contains(path))
    }

    @Test(arguments: ["1.2.3.4", "127.0.0.1:port", "::1:7700", "300.0.0.1:7700"])
    func badListenFlag(value: String) async throws {
        let run = try await runHeartbeatd(["--listen", value])
        #expect(run.status == 1)
        #expect(run.errorLines.count == 1, "\(run.standardError)")
        #expect(run.standardError.contains("--listen"), "\(run.standardError)")
        #expect(run.standardError.contains(value), "\(run.standardError)")
    }

    @Test func addressInUse() async throws {
        let busy = try Listener()
        let run = try await runHeartbeatd(["--listen", "127.0.0.1:\(busy.port)"])
        #expect(run.status == 1)
        #expect(run.errorLines.count == 1, "\(run.standardError)")
        #expect(run.standardError.contains("127.0.0.1:\(busy.port)"), "\(run.standardError)")
        withExtendedLifetime(busy) {}
    }

    /// A running daemon's listeners are an SO_REUSEPORT group of the same user: a second daemon started on
    /// that port must not join it and take half its connections, but fail and say where.
    @Test func aPortAnotherDaemonListensOnStopsTheStart() async throws {
        let first = try await Daemon(config: "[control]\nsocket = \"\"\n")
        let run = try await runHeartbeatd(["--listen", "127.0.0.1:\(first.port)"])
        #expect(run.status == 1)
        #expect(run.standardError.contains("cannot listen on 127.0.0.1:\(first.port)"), "\(run.standardError)")
        #expect(run.standardError.contains("EADDRINUSE"), "\(run.standardError)")
        for index in 0..<8 {
            let client = try Client(port: first.port)
            client.send("HELLO dev-\(index)\n")
            #expect(await client.readLine()?.hasPrefix("OK dev-\(index) ") == true)
        }
    }

    @Test func addressNotOnThisHost() async throws {
        let run = try await runHeartbeatd(["--listen", "192.0.2.1:7700"])
        #expect(run.status == 1)
        #expect(run.errorLines.count == 1, "\(run.standardError)")
        #expect(run.standardError.contains("192.0.2.1:7700"), "\(run.standardError)")
    }

    @Test func unbindableSecondAddressBindsNothing() async throws {
        let busy = try Listener()
        let free = try freePort()
        let path = try configFile("listen = [\"127.0.0.1:\(free)\", \"127.0.0.1:\(busy.port)\"]\n")
        let run = try await runHeartbeatd(["--config", path])
        #expect(run.status == 1)
        #expect(run.standardError.contains("127.0.0.1:\(busy.port)"), "\(run.standardError)")
        #expect(!run.standardError.contains("started"), "\(run.standardError)")
        withExtendedLifetime(busy) {}
    }

    @Test func checkConfigPrintsTheEffectiveConfig() async throws {
        let defaults = try await runHeartbeatd(["--check-config"])
        #expect(defaults.status == 0, "\(defaults.standardError)")
        #expect(defaults.standardOutput.contains("interval = \"10s\""))
        #expect(defaults.standardOutput.contains("listen = [\"0.0.0.0:7700\"]"))
        #expect(defaults.standardOutput.contains("[heartbeat]"))

        let path = try configFile("[heartbeat]\ninterval = \"2m\"\n[limits]\nmax_clients = 10\n")
        let custom = try await runHeartbeatd(["--check-config", "--config", path, "--listen", "[::1]:7701"])
        #expect(custom.status == 0, "\(custom.standardError)")
        #expect(custom.standardOutput.contains("interval = \"2m\""))
        #expect(custom.standardOutput.contains("max_clients = 10"))
        #expect(custom.standardOutput.contains("listen = [\"[::1]:7701\"]"))
        // What it prints is valid TOML that reads back to the same config.
        let printed = try configFile(custom.standardOutput)
        let again = try await runHeartbeatd(["--check-config", "--config", printed])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardOutput == custom.standardOutput)
    }

    @Test func descriptorLimitIsLogged() async throws {
        let daemon = try await Daemon()
        let line = try #require(await daemon.waitForLog("descriptor limit", "room for about"))
        #expect(line.contains("descriptor limit \(hardDescriptorLimit()),"), "\(line)")
    }

    @Test func softDescriptorLimitIsRaisedToTheHardLimit() async throws {
        let prlimit = "/usr/bin/prlimit"
        try #require(FileManager.default.isExecutableFile(atPath: prlimit), "\(prlimit) is missing (util-linux)")
        let daemon = try await Daemon(launcher: [prlimit, "--nofile=1024:4096", "--"])
        let line = try #require(await daemon.waitForLog("descriptor limit"))
        #expect(line.contains("descriptor limit 4096, room for about 4064 clients"), "\(line)")
    }
}
