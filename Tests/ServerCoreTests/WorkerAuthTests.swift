// Auth with `[auth] mode = "hmac"`, in-process: the right token is accepted, a missing or wrong one is
// refused (`ERR auth-failed`, reaped `protocol`) before the registry is touched, so it never ends the live
// session of that id; failures make one warning per address and second, on the manual clock.
import DeviceKeys
import Testing

@testable import ServerCore

@Suite struct WorkerAuthTests {
    private let secret = Array("a secret of twenty bytes".utf8)

    private func rig() throws -> Rig {
        try Rig(settings: testSettings(requiresToken: true, authSecret: secret))
    }

    @Test func rightTokenIsAccepted() throws {
        let rig = try rig()
        let peer = try rig.connect()
        let token = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(try rig.identify(peer, as: "dev-1", token: token) == "OK dev-1 interval=1000 timeout=2000")
        #expect(rig.shared.registry.owner(of: "dev-1") != nil)
    }

    @Test func missingTokenIsRefused() throws {
        let rig = try rig()
        let peer = try rig.connect()
        let watch = rig.watch(peer)
        peer.send("HELLO dev-1\n")
        #expect(try rig.turnsUntilReaped(watch))
        rig.expectTornDown(watch, reason: .protocol, farewell: "ERR auth-failed token required", timersLeft: true)
    }

    @Test func wrongTokenIsRefusedWithoutEndingTheLiveSession() throws {
        let rig = try rig()
        let live = try rig.connect()
        let token = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(try rig.identify(live, as: "dev-1", token: token) == "OK dev-1 interval=1000 timeout=2000")
        let owner = try #require(rig.shared.registry.owner(of: "dev-1"))
        let intruder = try rig.connect()
        let watch = rig.watch(intruder)
        let wrong = DeviceKey.token(secret: Array("another secret, just as long".utf8), id: "dev-1")
        intruder.send("HELLO dev-1 token=\(wrong)\n")
        #expect(try rig.turnsUntilReaped(watch))
        // The refused session never had the id: the registry still names the live one. Its timer and the
        // auth summary's are left.
        rig.expectTornDown(watch, reason: .protocol, farewell: "ERR auth-failed", newOwner: nil, timersLeft: true)
        #expect(rig.shared.registry.owner(of: "dev-1") == owner)
        #expect(rig.presence.all.map(\.kind) == [.online])
        live.send("PING still-here\n")
        #expect(
            try rig.turns {
                live.pump()
                return live.lines.last == "PONG still-here"
            })
        var snapshot = Snapshot()
        rig.worker.stats.add(to: &snapshot)
        #expect(snapshot.authFailures[.badToken] == 1 && snapshot.reaps[.replaced, default: 0] == 0)
    }

    @Test func failuresAreSummedIntoOneWarningPerAddressAndSecond() throws {
        let rig = try rig()
        let start = rig.clock.now
        for attempt in 0..<3 {
            let peer = try rig.connect()
            peer.send("HELLO guess-\(attempt) token=\(String(repeating: "0", count: 64))\n")
            #expect(try rig.turns { !rig.reapLines(of: peer).isEmpty })
        }
        #expect(rig.book.lines(containing: "auth failed").isEmpty, "no line per attempt")
        rig.clock.now = start + 999_000_000
        try rig.turn()
        #expect(rig.book.lines(containing: "auth failed").isEmpty, "not before the second is over")
        rig.clock.now = start + 1_000_000_000
        try rig.turn()
        let warnings = rig.book.lines(containing: "auth failed")
        let expected = "auth failed 3 time(s) from 127.0.0.1 in the last second (last id guess-2, bad-token)"
        #expect(warnings.map(\.message) == [expected])
        #expect(warnings.first?.metadata["count"] == "3")
    }

    @Test func noSecretFailsClosed() throws {
        let rig = try Rig(settings: testSettings(requiresToken: true, authSecret: nil))
        let peer = try rig.connect()
        let token = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(try rig.identify(peer, as: "dev-1", token: token) == "ERR auth-failed")
        #expect(rig.shared.registry.owner(of: "dev-1") == nil)
    }
}
