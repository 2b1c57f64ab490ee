// The hand-off state codec: a round trip keeps every field, and every kind of bad input — missing,
// truncated at any length, another format, a torn byte, records that contradict each other — is
// refused with its own error, never a crash.
import Testing

@testable import Handoff

@Suite struct HandoffStateTests {
    static let now: UInt64 = 9_000_000_000_000

    static func sample() -> HandoffState {
        let v4 = HandoffAddress(family: 4, bytes: [10, 0, 0, 7], port: 51_234)
        let v6 = HandoffAddress(
            family: 6, bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 40_000)
        let local = HandoffAddress(family: 4, bytes: [10, 0, 0, 1], port: 7_700)
        return HandoffState(
            savedAt: now - 1_000, lastSeq: 41, nextSerials: [17, 3],
            listeners: [
                .init(descriptor: 5, worker: 0, address: local),
                .init(descriptor: 6, worker: nil, address: HandoffAddress(family: 6, bytes: [], port: 7_700)),
            ],
            sessions: [
                .init(
                    descriptor: 12, worker: 0, id: "dev-1", serial: 16, intervalMilliseconds: 1_000, timeoutFactor: 3,
                    lastHeard: now - 2_000, connectedAt: now - 90_000_000_000, peer: v4, local: local,
                    unsent: Array("PONG x\n".utf8), partial: Array("PIN".utf8)),
                .init(
                    descriptor: 13, worker: 1, id: "sensor.ü", serial: 2, intervalMilliseconds: 60_000,
                    timeoutFactor: 100, lastHeard: now - 5_000, connectedAt: now - 6_000, peer: v6, local: local),
            ])
    }

    @Test func roundTripKeepsEveryField() throws {
        let state = Self.sample()
        let decoded = try HandoffState.decode(state.encoded(), now: Self.now)
        #expect(decoded == state)
        #expect(decoded.sessions[0].deadline == Self.now - 2_000 + 3_000_000_000)
    }

    @Test func anEmptyStateRoundTrips() throws {
        let state = HandoffState(savedAt: 1, lastSeq: 0, nextSerials: [1])
        #expect(try HandoffState.decode(state.encoded(), now: 1) == state)
    }

    @Test func everyTruncationIsRefused() {
        let bytes = Self.sample().encoded()
        for length in 0..<bytes.count {
            #expect(throws: HandoffError.self) { try HandoffState.decode(Array(bytes[..<length]), now: Self.now) }
        }
        #expect(throws: HandoffError.truncated(size: 0)) { try HandoffState.decode([], now: Self.now) }
        #expect(throws: HandoffError.truncated(size: bytes.count - 1)) {
            try HandoffState.decode(Array(bytes.dropLast()), now: Self.now)
        }
    }

    @Test func anotherVersionIsRefusedByName() {
        var bytes = Self.sample().encoded()
        bytes[4] = 3
        #expect(throws: HandoffError.otherVersion(found: 3, expected: 2)) {
            try HandoffState.decode(bytes, now: Self.now)
        }
    }

    /// A local address left out (family 0) names the connection by its peer alone: it round-trips, and a
    /// second record with that peer makes the state inconsistent.
    @Test func aLocalAddressLeftOutNeedsAPeerOfItsOwn() throws {
        var state = Self.sample()
        state.sessions[0].local = .unrecorded
        #expect(try HandoffState.decode(state.encoded(), now: Self.now) == state)
        var twice = state
        twice.sessions[1].peer = state.sessions[0].peer
        #expect(throws: HandoffError.inconsistent("peer twice, one without local")) {
            try HandoffState.decode(twice.encoded(), now: Self.now)
        }
    }

    /// Version 1 (every local address recorded, else the same) is still read: an upgrade from it keeps the
    /// sessions. An unrecorded address in it is refused, as it was.
    @Test func versionOneIsStillRead() throws {
        func asVersionOne(_ state: HandoffState) -> [UInt8] {
            var bytes = state.encoded()
            bytes[4] = 1
            let end = bytes.count - 8
            withUnsafeBytes(of: fnv1a(bytes[..<end]).littleEndian) { bytes.replaceSubrange(end..., with: $0) }
            return bytes
        }
        let state = Self.sample()
        #expect(try HandoffState.decode(asVersionOne(state), now: Self.now) == state)
        var unrecorded = state
        unrecorded.sessions[0].local = .unrecorded
        #expect(throws: HandoffError.inconsistent("address family 0")) {
            try HandoffState.decode(asVersionOne(unrecorded), now: Self.now)
        }
    }

    @Test func somethingElseIsNotState() {
        var bytes = Self.sample().encoded()
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: HandoffError.notState) { try HandoffState.decode(bytes, now: Self.now) }
    }

    @Test func everyFlippedByteIsCaught() {
        let bytes = Self.sample().encoded()
        for position in 12..<bytes.count {
            var torn = bytes
            torn[position] ^= 0x40
            #expect(throws: HandoffError.self) { try HandoffState.decode(torn, now: Self.now) }
        }
    }

    @Test func aStateFromTheFutureIsAnotherBoot() {
        #expect(throws: HandoffError.inconsistent("saved at a later instant than now (another boot?)")) {
            try HandoffState.decode(Self.sample().encoded(), now: 5)
        }
    }

    @Test func contradictoryRecordsAreRefused() {
        var twice = Self.sample()
        twice.sessions[1].id = "dev-1"
        #expect(throws: HandoffError.inconsistent("id dev-1 twice")) {
            try HandoffState.decode(twice.encoded(), now: Self.now)
        }
        var sameDescriptor = Self.sample()
        sameDescriptor.sessions[1].descriptor = 5
        #expect(throws: HandoffError.inconsistent("descriptor twice")) {
            try HandoffState.decode(sameDescriptor.encoded(), now: Self.now)
        }
        var noWorker = Self.sample()
        noWorker.sessions[1].worker = 2
        #expect(throws: HandoffError.inconsistent("session worker 2 of 2")) {
            try HandoffState.decode(noWorker.encoded(), now: Self.now)
        }
        var backwards = Self.sample()
        backwards.sessions[0].connectedAt = backwards.sessions[0].lastHeard + 1
        #expect(throws: HandoffError.inconsistent("session instants")) {
            try HandoffState.decode(backwards.encoded(), now: Self.now)
        }
    }
}
