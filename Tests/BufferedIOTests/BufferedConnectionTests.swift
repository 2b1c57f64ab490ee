import EventLoop
import Glibc
import Posix
import Testing

// BufferedConnection over a real unix socket pair on a loop with an injected clock: the bounded queue,
// flush on writable with EPOLLOUT only while bytes wait, the close deadline, and the teardown.
@testable import BufferedIO

@Suite struct BufferedConnectionTests {
    @Test func whatTheKernelWouldNotTakeGoesOutWhenThePeerReads() throws {
        let pair = try Pair()
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(pair.connection.append(payload))
        pair.connection.flush()
        #expect(pair.connection.unsentCount > 0, "a 1 MiB answer does not fit the socket buffers")
        #expect(pair.connection.interest.contains(.writable), "EPOLLOUT while bytes wait")

        var received: [UInt8] = []
        for _ in 0..<10_000 where received.count < payload.count {
            received += try pair.readClient()
            try pair.turn()
        }
        #expect(received == payload)
        #expect(pair.connection.unsentCount == 0)
        #expect(!pair.connection.interest.contains(.writable), "no EPOLLOUT once drained")
        #expect(pair.connection.isOpen)
    }

    @Test func aQueueOverItsLimitSaysTheOverflowLineAndClosesWithTheReason() throws {
        let pair = try Pair()
        pair.connection.outputLimit = 1_000
        pair.connection.onOverflow = { limit in Array("too-slow \(limit)\n".utf8) }
        #expect(pair.connection.append(Array("kept\n".utf8)))
        #expect(pair.connection.append([UInt8](repeating: 0x61, count: 900)))
        #expect(!pair.connection.append([UInt8](repeating: 0x62, count: 200)), "over the limit: refused")
        #expect(pair.reasons == [.overflow(limit: 1_000)])
        #expect(!pair.connection.isOpen)
        #expect(pair.table.count == 0, "the table forgot it")
        // The first queued line is kept whole; the rest of the queue gave way to the overflow line.
        var received: [UInt8] = []
        while case let bytes = try pair.readClient(), !bytes.isEmpty { received += bytes }
        #expect(String(decoding: received, as: UTF8.self) == "kept\ntoo-slow 1000\n")
    }

    @Test func theCloseDeadlineFiresOnTheLoopsClockAndNotBefore() throws {
        let pair = try Pair()
        pair.connection.finishGrace = 1_000_000_000
        #expect(pair.connection.append([UInt8](repeating: 0x61, count: 1 << 20)))
        pair.connection.flush()
        pair.connection.finish(last: Array("bye\n".utf8))
        #expect(pair.connection.isOpen, "the peer reads nothing: the last line waits")
        #expect(!pair.connection.wantsInput)

        pair.clock.now += 900_000_000
        try pair.turn()
        #expect(pair.connection.isOpen, "not before the deadline")
        pair.clock.now += 200_000_000
        try pair.turn()
        #expect(!pair.connection.isOpen)
        #expect(pair.reasons == [.deadline])
    }

    @Test func closeWhenDrainedClosesOnceAllIsOutAndThePeerReadsTheEnd() throws {
        let pair = try Pair()
        var asked = 0
        pair.connection.onDrained = {
            asked += 1
            if asked <= 3 { pair.connection.append(Array("piece \(asked)\n".utf8)) }
        }
        pair.connection.closeWhenDrained()
        #expect(!pair.connection.isOpen)
        #expect(pair.reasons == [.done])
        var received: [UInt8] = []
        while case let bytes = try pair.readClient(), !bytes.isEmpty { received += bytes }
        #expect(String(decoding: received, as: UTF8.self) == "piece 1\npiece 2\npiece 3\n")
        pair.connection.close(.closed)
        #expect(pair.reasons == [.done], "a second close does nothing")
    }

    @Test func aPeerThatHangsUpEndsTheConnection() throws {
        let pair = try Pair()
        pair.dropClient()
        for _ in 0..<10 where pair.connection.isOpen { try pair.turn() }
        #expect(!pair.connection.isOpen)
        #expect(pair.reasons.count == 1)
    }
}

/// A loop on a manual clock, a ConnectionTable on it, and one connection whose peer is `client`, a
/// blocking unix socket the test reads with a short timeout.
final class Pair {
    let clock = ManualClock(1_000_000_000)
    let loop: EventLoop
    let table: ConnectionTable
    let connection: BufferedConnection
    var client: Socket?
    var reasons: [BufferedConnection.Reason] = []
    private let busy: EventFD

    init() throws {
        loop = try EventLoop(tick: 10_000_000, slots: 64, clock: clock.read)
        table = ConnectionTable(loop: loop)
        // Always readable, so a turn never sleeps: the test decides when time passes.
        busy = try EventFD()
        try loop.register(busy.id, interest: .readable, handler: loop.addHandler { _, _ in })
        busy.signal()
        let path = "/tmp/buffered-io-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = try Socket.listenUnix(at: path)
        let client = try Socket.connectUnix(to: path)
        unlink(path)
        try client.setReceiveTimeout(milliseconds: 50)
        self.client = .some(client)
        let accepted = try listener.acceptUnix()
        listener.close()
        guard let accepted else { throw SystemError(call: "accept", errno: .wouldBlock) }
        try accepted.setSendBufferSize(4_096)
        connection = try table.open(accepted)
        connection.onClose = { [unowned self] reason in reasons.append(reason) }
    }

    func turn() throws {
        try loop.runTurn()
    }

    /// What the client can read now; empty at the end of the stream or when nothing came within 50 ms.
    func readClient() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let result = try buffer.withUnsafeMutableBytes { bytes in try client?.read(into: bytes) ?? .done(0) }
        guard case .done(let count) = result else { return [] }
        return Array(buffer[..<count])
    }

    func dropClient() {
        client.take()?.close()
    }
}

/// A clock that moves only when the test moves it.
final class ManualClock {
    var now: UInt64
    init(_ now: UInt64) { self.now = now }
    var read: () -> UInt64 { { [unowned self] in self.now } }
}
