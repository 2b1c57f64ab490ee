import Foundation
// Socket activation (DESIGN §6): under systemd-socket-activate the daemon serves on the socket it is
// passed in LISTEN_FDS instead of binding its own.
import TestSupport
import Testing

@Suite struct SocketActivationTests {
    @Test func servesOnThePassedSocket() async throws {
        let tool = "/usr/bin/systemd-socket-activate"
        try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing (apt-get install systemd)")
        let port = try freePort()
        // No --listen: a daemon that bound its own socket would try 0.0.0.0:7700 instead.
        let daemon = try await Daemon(arguments: [], launcher: [tool, "-l", "127.0.0.1:\(port)"], waitForStart: false)
        // The tool listens first and starts the daemon on the first connection.
        var client: Client?
        _ = await eventually {
            client = try? Client(port: port)
            return client != nil
        }
        let activated = try #require(client, "nothing listens on 127.0.0.1:\(port)")
        activated.send("HELLO activated\n")
        #expect(await activated.readLine(within: 10) == "OK activated interval=10000 timeout=30000")
        let started = try #require(await daemon.waitForLog("started: listening on"))
        #expect(field("socket_activated", in: started) == "true", "\(started)")
        #expect(started.contains("127.0.0.1:\(port)"), "\(started)")
        try await daemon.waitUntilStarted()
        #expect(daemon.port == port)
        // SIGTERM still drains and exits 0 with a passed socket.
        activated.closeSocket()
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }
}
