// The accept path under a storm: the backlog reaches listen(2), a turn accepts at most
// `Worker.acceptsPerTurn` per listener, and the connect-rate limit resets what is over it before it is
// a session, per /24, counted and logged once, and off by default.
import Glibc
import Logging
import TestSupport
import Testing

@testable import Posix
@testable import ServerCore

@Suite struct AcceptTests {
    /// A worker on the test's clock with a real listener on 127.0.0.1 (the kernel picks the port).
    private func listeningRig(_ settings: Settings = testSettings()) throws -> (Rig, SocketAddress) {
        let socket = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!, reusePort: false)
        let address = try socket.localAddress()
        let listener = ServerCore.Listener(socket: socket, address: address, isShared: false)
        return (try Rig(settings: settings, listeners: [listener]), address)
    }

    /// `count` connects from `source` (any 127/8 address binds on loopback), queued by the kernel before
    /// the worker turns.
    private func connect(
        _ count: Int, to rig: Rig, at address: SocketAddress, from source: String = "127.0.0.1"
    ) throws -> [Listening.End] {
        let queued = try #require(rig.worker.listeners.first?.socket?.acceptQueue().waiting)
        var clients: [Listening.End] = []
        for _ in 0..<count {
            clients.append(
                Listening.End(try Socket.connecting(to: address, from: SocketAddress(host: source, port: 0))))
        }
        #expect(
            try eventuallyBlocking { try rig.worker.listeners.first?.socket?.acceptQueue().waiting == queued + count })
        return clients
    }

    private func wasReset(_ client: Listening.End) -> Bool {
        var byte: UInt8 = 0
        return recv(client.socket.fd, &byte, 1, Int32(MSG_DONTWAIT)) == -1 && errno == ECONNRESET
    }

    @Test func theBacklogReachesListen() throws {
        let somaxconn = Int(
            String(decoding: try readFile("/proc/sys/net/core/somaxconn"), as: UTF8.self).filter(\.isNumber))
        for (asked, inForce) in [(77, 77), (65535, min(65535, try #require(somaxconn)))] {
            let server = try Server(
                settings: testSettings(), listen: [SocketAddress(host: "127.0.0.1", port: 0)!], backlog: Int32(asked),
                workers: 2, tick: Rig.tick, activated: [], logger: Logger(label: "test"))
            #expect(server.backlogInForce == inForce)
        }
    }

    /// 100 connections wait in the queue: one turn takes 64, the next the rest.
    @Test func oneTurnAcceptsAtMostTheBound() throws {
        let (rig, address) = try listeningRig()
        let clients = try connect(100, to: rig, at: address)
        try rig.turn()
        #expect(rig.worker.stats.connected.load(ordering: .relaxed) == Worker.acceptsPerTurn)
        try rig.turn()
        #expect(rig.worker.stats.connected.load(ordering: .relaxed) == clients.count)
    }

    @Test func theConnectRateIsOffByDefault() throws {
        #expect(testSettings().connectRate == 0)
        let (rig, address) = try listeningRig()
        let clients = try connect(20, to: rig, at: address)
        #expect(try rig.turns { rig.worker.stats.connected.load(ordering: .relaxed) == clients.count })
        #expect(rig.worker.stats.connectRateRefusals.load(ordering: .relaxed) == 0)
    }

    @Test func overTheConnectRateIsResetPerNetwork() throws {
        var settings = testSettings()
        settings.connectRate = 1
        settings.connectBurst = 3
        let (rig, address) = try listeningRig(settings)
        let stats = rig.worker.stats
        func counts() -> (Int, UInt64) {
            (stats.connected.load(ordering: .relaxed), stats.connectRateRefusals.load(ordering: .relaxed))
        }
        let refusalLines = { rig.book.lines(containing: "over the connect rate") }

        // A burst of 10 from 127.0.0.1: the bucket's 3, and 7 reset before they are sessions.
        let burst = try connect(10, to: rig, at: address)
        #expect(try rig.turns { counts() == (3, 7) })
        #expect(rig.shared.admission.total == 3)
        #expect(eventuallyBlocking { burst.filter(wasReset).count == 7 })
        #expect(refusalLines().count == 1, "one line for the burst, not one per connection")
        #expect(refusalLines().first?.metadata["network"] == "127.0.0.0/24")

        // Another /24 has a bucket of its own.
        let other = try connect(5, to: rig, at: address, from: "127.0.1.1")
        #expect(try rig.turns { counts() == (6, 9) })
        #expect(refusalLines().count == 1)

        // A second later 127.0.0.0/24 has one token again; the next refusal writes the second line.
        rig.clock.advance(milliseconds: 1_000)
        let later = try connect(2, to: rig, at: address)
        #expect(try rig.turns { counts() == (7, 10) })
        #expect(refusalLines().count == 2)
        // The first line came with the first refusal; this one counts the nine since.
        #expect(refusalLines().last?.metadata["refused"] == "9")
        #expect(burst.count + other.count + later.count == 17, "every client held open to the end")
    }
}
