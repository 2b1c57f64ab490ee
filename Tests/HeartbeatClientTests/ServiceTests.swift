// The client as a swift-service-lifecycle Service against the real daemon: a ServiceGroup's graceful
// shutdown says BYE (the daemon logs reason=bye), cancellation closes at once, and a second run() is refused
// without disturbing the first.
import HeartbeatClient
import Logging
import ServiceLifecycle
import TestSupport
import Testing

@Suite struct ServiceTests {
    @Test func gracefulShutdownUnderAServiceGroupSaysBye() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: daemon.port), id: "service-1"))
        let recorder = StateRecorder(client)
        let group = ServiceGroup(services: [client], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await recorder.untilStopped().last == .stopped(.shutDown))
        #expect(await daemon.waitForLog("client.id=service-1", "reason=bye") != nil)
    }

    @Test func cancellationClosesAtOnce() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: daemon.port), id: "service-2"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })
        run.cancel()
        try await run.value
        #expect(await recorder.untilStopped().last == .stopped(.cancelled))
        // No BYE: the daemon sees the connection end (eof), not a goodbye.
        #expect(await daemon.waitForLog("client.id=service-2", "reason=eof") != nil)
        #expect(daemon.lines(containing: "client.id=service-2", "reason=bye").isEmpty)
    }

    @Test func aSecondRunIsRefusedAndLeavesTheFirstAlone() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let client = try HeartbeatClient(
            HeartbeatClientTests.configuration(Endpoint(host: "127.0.0.1", port: daemon.port), id: "service-3"))
        let recorder = StateRecorder(client)
        let first = Task { try await client.run() }
        #expect(await recorder.wait(upTo: 20) { $0.isConnected })

        // Even from a cancelled task.
        let second = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await client.run()
        }
        await #expect(throws: HeartbeatClient.Error(.alreadyRunning, "run() was already called on this client")) {
            try await second.value
        }
        client.shutDownGracefully()
        try await first.value
        let states = await recorder.untilStopped()
        #expect(states.count { $0.isConnected } == 1)
        #expect(states.count { $0.disconnect != nil } == 0)
        #expect(states.last == .stopped(.shutDown))
    }
}
