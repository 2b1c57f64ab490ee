// The client's timing on a test clock: beats on the granted rhythm, silence after exactly the granted
// timeout, the backoff sleep and the BYE wait — time moves only when the test advances it. The server is a
// scripted one on loopback, so the lines are real.
import HeartbeatClient
import TestSupport
import Testing

@Suite struct RunnerTests {
    static let grant = "OK clocked interval=1000 timeout=3000"

    /// A client on `clock` against `server`, with the recorder subscribed before it starts.
    static func start(
        _ server: FakeServer, clock: TestClock, _ adjust: (inout HeartbeatClient.Configuration) -> Void = { _ in }
    ) throws -> (HeartbeatClient, StateRecorder, Task<Void, any Error>) {
        var configuration = HeartbeatClient.Configuration(server: server.endpoint, id: "clocked")
        configuration.backoff = Backoff(base: .milliseconds(20), cap: .milliseconds(80))
        adjust(&configuration)
        let client = try HeartbeatClient(configuration, clock: clock, randomFraction: { 1.0 })
        let recorder = StateRecorder(client)
        return (client, recorder, Task { try await client.run() })
    }

    @Test func beatsOnTheGrantedIntervalAsTheClockMoves() async throws {
        let server = try FakeServer { line in line.hasPrefix("HELLO") ? .say(Self.grant) : .say("PONG") }
        let clock = TestClock()
        let (_, recorder, run) = try Self.start(server, clock: clock)
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })
        // Asleep: the HELLO timer, the beat and the silence watchdog. No PING before the clock moves.
        #expect(await eventually(within: 20) { clock.sleepers == 3 })
        #expect(server.lines == ["HELLO clocked"])
        for beats in 1...3 {
            clock.advance(by: .seconds(1))
            #expect(await eventually(within: 20) { server.lines.count == 1 + beats })
            #expect(await eventually(within: 20) { clock.sleepers == 3 })
        }
        #expect(server.lines == ["HELLO clocked", "PING", "PING", "PING"])
        #expect(recorder.count { $0.disconnect != nil } == 0)
    }

    @Test func aServerSilentForTheGrantedTimeoutIsDead() async throws {
        let server = try FakeServer { line in line.hasPrefix("HELLO") ? .say(Self.grant) : .say() }
        let clock = TestClock()
        let (_, recorder, run) = try Self.start(server, clock: clock)
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })
        #expect(await eventually(within: 20) { clock.sleepers == 3 })
        for beats in 1...2 {
            clock.advance(by: .seconds(1))
            #expect(await eventually(within: 20) { server.lines.count == 1 + beats })
            #expect(await eventually(within: 20) { clock.sleepers == 3 })
        }
        // Two beats went out unanswered; 2 s of silence is not yet death.
        #expect(recorder.count { $0.disconnect != nil } == 0)
        clock.advance(by: .seconds(1))
        #expect(await recorder.wait(upTo: 20) { $0.disconnect != nil })
        #expect(
            recorder.states.compactMap(\.disconnect).first
                == HeartbeatClient.Error(.serverSilent, "server silent for 3.0 seconds"))
    }

    @Test func theBackoffSleepsOnTheClock() async throws {
        // Nothing listens on the port: every attempt is refused at once.
        let refusing = try RefusingPort()
        let endpoint = refusing.endpoint
        defer { withExtendedLifetime(refusing) {} }
        let clock = TestClock()
        var configuration = HeartbeatClient.Configuration(server: endpoint, id: "clocked")
        configuration.backoff = Backoff(base: .milliseconds(20), cap: .milliseconds(80))
        let client = try HeartbeatClient(configuration, clock: clock, randomFraction: { 1.0 })
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }

        #expect(await recorder.wait(upTo: 20) { $0 == .waiting(delay: .milliseconds(20), attempt: 1) })
        #expect(await eventually(within: 20) { clock.sleepers == 1 })
        #expect(recorder.states.first { $0.disconnect != nil }?.disconnect?.code == .refused)
        clock.advance(by: .milliseconds(19))
        #expect(clock.sleepers == 1)
        #expect(recorder.count { $0.isConnecting } == 1)
        clock.advance(by: .milliseconds(1))
        #expect(await recorder.wait(upTo: 20) { $0 == .waiting(delay: .milliseconds(40), attempt: 2) })
        #expect(recorder.count { $0.isConnecting } == 2)
    }

    @Test func gracefulShutdownWaitsForByeByeAtMostTheByeTimeout() async throws {
        // A server that never answers BYE.
        let server = try FakeServer { line in line.hasPrefix("HELLO") ? .say(Self.grant) : .say() }
        let clock = TestClock()
        let (client, recorder, run) = try Self.start(server, clock: clock)
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })
        #expect(await eventually(within: 20) { clock.sleepers == 3 })
        client.shutDownGracefully()
        #expect(await eventually(within: 20) { server.lines.last == "BYE" })
        // Waiting for BYE bye on the clock (2 s by default) besides the session's other timers.
        #expect(await eventually(within: 20) { clock.deadlines.contains(.seconds(2)) })
        #expect(!recorder.states.contains { $0.isStopped })
        clock.advance(by: .seconds(2))
        try await run.value
        #expect(await recorder.untilStopped().last == .stopped(.shutDown))
    }
}
