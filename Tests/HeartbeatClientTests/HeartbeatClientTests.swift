// The client against the real heartbeatd over loopback (and a scripted fake server where the daemon
// cannot be made to answer on demand): beating, leaving with BYE, reconnecting, detecting a stopped
// server, being replaced, failing auth, and the backoff it actually chooses.
import Glibc
import HeartbeatClient
import TestSupport
import Testing

@Suite struct HeartbeatClientTests {
    /// A configuration for tests: the shortest interval heartbeatd grants by default (1 s, timeout
    /// 3 s) and a backoff measured in tens of milliseconds.
    static func configuration(_ endpoint: Endpoint, id: String) -> HeartbeatClient.Configuration {
        var configuration = HeartbeatClient.Configuration(server: endpoint, id: id, interval: .seconds(1))
        configuration.backoff = HeartbeatClient.Backoff(base: .milliseconds(50), cap: .milliseconds(200))
        // Generous: on a loaded machine a slow OK must not turn into a second attempt.
        configuration.connectTimeout = .seconds(10)
        return configuration
    }

    @Test func beatsAtTheGrantedIntervalAndLeavesWithBye() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        var configuration = Self.configuration(Endpoint(host: "127.0.0.1", port: daemon.port), id: "beat-1")
        configuration.interval = .milliseconds(200)
        let client = try HeartbeatClient(configuration)
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }

        #expect(await recorder.wait(upTo: 20) { $0.isConnected })
        // The server clamps 200 ms to its 1 s minimum; the client uses what was granted.
        let grant = recorder.states.compactMap { if case .connected(let grant) = $0 { grant } else { nil } }.first
        #expect(
            grant
                == HeartbeatClient.Grant(
                    interval: .seconds(1), timeout: .seconds(3), address: "127.0.0.1:\(daemon.port)"))
        // Several beats later the session is still the same one: no disconnect, no timeout.
        try await Task.sleep(for: .milliseconds(3_500))
        #expect(recorder.count { $0.disconnect != nil } == 0)

        client.shutDownGracefully()
        try await run.value
        #expect(await recorder.untilStopped().last == .stopped(.shutDown))
        #expect(
            await eventually(within: 20) {
                daemon.log.contains("reason=bye") && daemon.log.contains("client.id=beat-1")
            }
        )
    }

    @Test func reconnectsAfterTheDaemonRestarts() async throws {
        let first = try await Daemon()
        let port = first.port
        let client = try HeartbeatClient(Self.configuration(Endpoint(host: "127.0.0.1", port: port), id: "restart-1"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })

        first.stop()
        #expect(await recorder.wait(upTo: 20) { $0.disconnect != nil })
        // While nothing listens, attempts fail and back off.
        #expect(await recorder.wait(upTo: 20) { $0.disconnect?.code == .refused })

        let second = try await Daemon(arguments: ["--listen", "127.0.0.1:\(port)"])
        defer { second.stop() }
        #expect(await recorder.wait(upTo: 30, count: 2) { $0.isConnected })
        #expect(second.log.contains("client.id=restart-1"))
    }

    @Test func detectsAStoppedServerAndReconnectsWhenItResumes() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            Self.configuration(Endpoint(host: "127.0.0.1", port: daemon.port), id: "stopped-1"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })

        daemon.signal(SIGSTOP)
        // No PONG within the granted 3 s timeout: the server counts as dead.
        #expect(await recorder.wait(upTo: 20) { $0.disconnect?.code == .serverSilent })
        // Reconnecting with backoff while the server is stopped: each attempt's HELLO goes unanswered.
        #expect(await recorder.wait(upTo: 20) { $0.isWaiting })

        daemon.signal(SIGCONT)
        #expect(await recorder.wait(upTo: 30, count: 2) { $0.isConnected })
    }

    @Test func replacedClientStopsWithoutFightingBack() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let endpoint = Endpoint(host: "127.0.0.1", port: daemon.port)
        let older = try HeartbeatClient(Self.configuration(endpoint, id: "twin"))
        let olderStates = StateRecorder(older)
        let olderRun = Task { try await older.run() }
        #expect(await olderStates.wait(upTo: 20) { $0.isConnected })

        let newer = try HeartbeatClient(Self.configuration(endpoint, id: "twin"))
        let newerStates = StateRecorder(newer)
        let newerRun = Task { try await newer.run() }
        defer { newerRun.cancel() }

        let replaced = HeartbeatClient.Error(.replaced, "another client took over this id (BYE replaced)")
        // Wait with a deadline, not on the task: an older client that lost its session some other way (a
        // timeout on a starved machine) reconnects and would keep running, and the test with it.
        guard await olderStates.wait(upTo: 20, for: { $0.isStopped }) else {
            olderRun.cancel()
            Issue.record("the replaced client did not stop: \(olderStates.states)")
            return
        }
        await #expect(throws: replaced) { try await olderRun.value }
        #expect(await olderStates.untilStopped().suffix(2) == [.disconnected(replaced), .stopped(.failed(replaced))])
        #expect(olderStates.count { $0.isConnected } == 1)
        #expect(await newerStates.wait(upTo: 20) { $0.isConnected })
        // The newer one keeps the id: no disconnect follows.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(newerStates.count { $0.disconnect != nil } == 0)
    }

    @Test func replacedClientCanBackOffLongInstead() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let endpoint = Endpoint(host: "127.0.0.1", port: daemon.port)
        var patient = Self.configuration(endpoint, id: "failover")
        patient.onReplaced = .backOff(.seconds(300))
        let older = try HeartbeatClient(patient)
        let olderStates = StateRecorder(older)
        let olderRun = Task { try await older.run() }
        #expect(await olderStates.wait(upTo: 20) { $0.isConnected })

        let newer = try HeartbeatClient(Self.configuration(endpoint, id: "failover"))
        let newerRun = Task { try await newer.run() }
        defer { newerRun.cancel() }
        #expect(await olderStates.wait(upTo: 20) { $0 == .waiting(delay: .seconds(300), attempt: 0) })
        #expect(olderStates.states.contains { $0.disconnect?.code == .replaced })
        olderRun.cancel()
        try await olderRun.value
        #expect(await olderStates.untilStopped().last == .stopped(.cancelled))
    }

    @Test func authFailureStopsWithAClearError() async throws {
        let server = try FakeServer { line in
            line.hasPrefix("HELLO") ? .sayAndClose("ERR auth-failed token does not match id") : .sayAndClose()
        }
        var configuration = Self.configuration(server.endpoint, id: "sensor-12")
        configuration.token = "00ff"
        let client = try HeartbeatClient(configuration)
        let recorder = StateRecorder(client)
        let refused = HeartbeatClient.Error(.auth, "server said ERR auth-failed token does not match id")
        await #expect(throws: refused) { try await client.run() }
        #expect(server.lines == ["HELLO sensor-12 interval=1000 token=00ff"])
        #expect(await recorder.untilStopped().last == .stopped(.failed(refused)))
        #expect(recorder.count { if case .connecting = $0 { true } else { false } } == 1)
    }

    @Test func backoffUsesTheInjectedRandomnessAndDoublesPerFailure() async throws {
        // A port with nothing listening: every attempt is refused at once.
        let refusing = try RefusingPort()
        let endpoint = refusing.endpoint
        defer { withExtendedLifetime(refusing) {} }
        var configuration = Self.configuration(endpoint, id: "refused")
        configuration.backoff = HeartbeatClient.Backoff(base: .milliseconds(20), cap: .milliseconds(80))
        let client = try HeartbeatClient(configuration, randomFraction: { 1.0 })
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        #expect(await recorder.wait(upTo: 20, count: 5) { if case .waiting = $0 { true } else { false } })
        run.cancel()
        try await run.value
        let waits = recorder.states.compactMap {
            if case .waiting(let delay, let attempt) = $0 { (delay, attempt) } else { nil }
        }.prefix(5)
        #expect(
            waits.map(\.0) == [
                .milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(80), .milliseconds(80),
            ])
        #expect(waits.map(\.1) == [1, 2, 3, 4, 5])
    }

    @Test(arguments: [false, true])
    func attemptsResetOnlyAfterTheConnectionStayedUp(stayedUpLongEnough: Bool) async throws {
        // A server that says OK and hangs up at once, forever.
        let server = try FakeServer { line in
            line.hasPrefix("HELLO") ? .sayAndClose("OK flaky interval=1000 timeout=3000") : .sayAndClose()
        }
        var configuration = Self.configuration(server.endpoint, id: "flaky")
        configuration.backoff = HeartbeatClient.Backoff(base: .milliseconds(10), cap: .milliseconds(1_000))
        configuration.resetBackoffAfter = stayedUpLongEnough ? .zero : .seconds(3_600)
        let client = try HeartbeatClient(configuration, randomFraction: { 1.0 })
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        #expect(await recorder.wait(upTo: 20, count: 4) { if case .waiting = $0 { true } else { false } })
        run.cancel()
        try await run.value
        let delays = recorder.states.compactMap { if case .waiting(let delay, _) = $0 { delay } else { nil } }.prefix(4)
        if stayedUpLongEnough {
            #expect(Array(delays) == Array(repeating: .milliseconds(10), count: 4))
        } else {
            #expect(Array(delays) == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(80)])
        }
        #expect(recorder.count { $0.disconnect?.code == .closed } >= 4)
    }

    @Test(arguments: [("[::1]", "::1", "[::1]"), ("127.0.0.1", "localhost", "127.0.0.1")])
    func connectsOverIPv6AndByHostName(listen: String, host: String, address: String) async throws {
        let daemon = try await Daemon(arguments: ["--listen", "\(listen):0"])
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            Self.configuration(Endpoint(host: host, port: daemon.port), id: "by-\(host == "::1" ? "v6" : "name")"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected }, "host \(host): \(recorder.states)")
        #expect(
            recorder.states.contains {
                if case .connected(let grant) = $0 { grant.address == "\(address):\(daemon.port)" } else { false }
            })
        run.cancel()
        try await run.value
    }

    @Test(arguments: ["web/7", "", "two words", String(repeating: "x", count: 65)])
    func refusesAnIDTheServerWouldRefuse(id: String) {
        #expect(throws: HeartbeatClient.Error.self) {
            _ = try HeartbeatClient(
                HeartbeatClient.Configuration(server: Endpoint(host: "127.0.0.1", port: 7700), id: id))
        }
    }

    @Test func refusesATokenThatIsNotHex() {
        #expect(throws: HeartbeatClient.Error(.invalidConfiguration, "token has byte 'z'")) {
            _ = try HeartbeatClient(
                HeartbeatClient.Configuration(server: Endpoint(host: "127.0.0.1", port: 7700), id: "a", token: "zz"))
        }
    }

    @Test func runsOnlyOnce() async throws {
        let client = try HeartbeatClient(Self.configuration(Endpoint(host: "127.0.0.1", port: 9), id: "once"))
        let run = Task { try await client.run() }
        run.cancel()
        try await run.value
        await #expect(throws: HeartbeatClient.Error(.alreadyRunning, "run() was already called on this client")) {
            try await client.run()
        }
    }
}
