// A successor sorting out what its predecessor left (`Takeover`): a socket that is the connection its
// record names is restored; one that is not (the state and the descriptors disagree) is told
// `BYE restart` and half-closed, and its record counts as lost. After an `execve` the records are checked
// under their own numbers, sockets out of a carrier at their record's position, and others (or carried
// ones out of order) are matched by their addresses.
import Glibc
import Handoff
import Testing

@testable import Posix
@testable import ServerCore

@Suite struct TakeoverTests {
    /// `local` nil: left out, as a freeze records a session whose peer no other record has.
    private func record(_ id: String, at descriptor: DescriptorID, peer: SocketAddress, local: SocketAddress?)
        -> HandoffState.Session
    {
        let now = Clock.monotonicNanoseconds()
        return HandoffState.Session(
            descriptor: descriptor.rawValue, worker: 0, id: id, serial: 1, intervalMilliseconds: 1_000,
            timeoutFactor: 2, lastHeard: now, connectedAt: now, peer: HandoffAddress(peer),
            local: local.map(HandoffAddress.init) ?? .unrecorded)
    }

    /// Reads `peer` until it has `lines` and its end is closed, or 5 s pass.
    private func waitFor(_ peer: Peer, lines: [String]) -> Bool {
        for _ in 0..<500 {
            peer.pump()
            if peer.lines == lines && peer.isClosed { return true }
            usleep(10_000)
        }
        return false
    }

    /// How the sockets came back: kept under their numbers (an exec), carried in record order, or in a
    /// list of unknown order (systemd's store).
    enum Arrival: CaseIterable { case numbersKept, carried, unordered }

    @Test(arguments: Arrival.allCases)
    func aSocketThatIsNotItsRecordsConnectionIsToldByeRestart(arrival: Arrival) throws {
        let listening = try Listening()
        let local = try listening.socket.localAddress()
        let kept = try listening.connection()
        let stranger = try listening.connection()
        // As the predecessor's freeze left them, open across exec; a carrier's come out close-on-exec.
        if arrival != .carried {
            try Descriptors.keepAcrossExec(kept.server)
            try Descriptors.keepAcrossExec(stranger.server)
        }
        let elsewhere = try #require(SocketAddress(host: "127.0.0.2", port: 9))
        let state = HandoffState(
            savedAt: Clock.monotonicNanoseconds(), lastSeq: 0, nextSerials: [1],
            sessions: [
                record("kept", at: kept.server, peer: kept.peer, local: local),
                // Names the stranger's number, but another connection.
                record("gone", at: stranger.server, peer: elsewhere, local: local),
            ])
        let both = [kept.server, stranger.server]
        let inheritance = Inheritance(
            state: state, problem: nil, descriptors: arrival == .unordered ? both : [],
            numbersKept: arrival == .numbersKept, carried: arrival == .carried ? both : [])

        let takeover = Takeover(inheritance, workers: 1, now: Clock.monotonicNanoseconds())
        defer { Descriptors.close(kept.server) }

        #expect(takeover.counts.restored == 1)
        #expect(takeover.counts.orphaned == 1)
        #expect(takeover.counts.lost == 1)
        #expect(takeover.counts.foreign == 0)
        #expect(takeover.sessions[0].map { $0.descriptor } == [kept.server])
        #expect(fcntl(kept.server.rawValue, F_GETFD) & FD_CLOEXEC != 0, "close-on-exec again")
        #expect(waitFor(stranger.client, lines: ["BYE restart"]))
        kept.client.pump()
        #expect(kept.client.lines.isEmpty && !kept.client.isClosed, "the restored one hears nothing")
    }

    @Test(arguments: [true, false])
    func carriedSocketsOutOfRecordOrderAreMatchedByTheirAddresses(localRecorded: Bool) throws {
        let listening = try Listening()
        let local = localRecorded ? try listening.socket.localAddress() : nil
        let first = try listening.connection()
        let second = try listening.connection()
        defer {
            Descriptors.close(first.server)
            Descriptors.close(second.server)
        }
        let state = HandoffState(
            savedAt: Clock.monotonicNanoseconds(), lastSeq: 0, nextSerials: [1],
            sessions: [
                record("first", at: first.server, peer: first.peer, local: local),
                record("second", at: second.server, peer: second.peer, local: local),
            ])
        let inheritance = Inheritance(
            state: state, problem: nil, descriptors: [], carried: [second.server, first.server])

        let takeover = Takeover(inheritance, workers: 1, now: Clock.monotonicNanoseconds())

        #expect(takeover.counts.restored == 2)
        #expect(takeover.counts.orphaned == 0 && takeover.counts.lost == 0)
        let restored = takeover.sessions[0].map { ($0.descriptor, $0.record.id) }
        #expect(restored.contains { $0 == (first.server, "first") })
        #expect(restored.contains { $0 == (second.server, "second") })
    }

    /// The freeze records no local address; the records whose peer another record has get theirs before
    /// the state is written, so the successor can tell those connections apart.
    @Test func onlyRecordsSharingAPeerGetTheirLocalAddress() throws {
        let listening = try Listening()
        let one = try listening.connection()
        let other = try listening.connection()
        defer {
            Descriptors.close(one.server)
            Descriptors.close(other.server)
        }
        let shared = try #require(SocketAddress(host: "127.0.0.9", port: 4_000))
        let records = [
            record("alone", at: one.server, peer: one.peer, local: nil),
            record("twin-1", at: one.server, peer: shared, local: nil),
            record("twin-2", at: other.server, peer: shared, local: nil),
        ]
        let recorded = Server.recordingLocals(records)
        let local = HandoffAddress(try listening.socket.localAddress())
        #expect(recorded.map(\.id) == ["alone", "twin-1", "twin-2"])
        #expect(recorded.map(\.local) == [.unrecorded, local, local])
        // A socket that cannot say its local address: that record is left out.
        let closed = record("twin-3", at: DescriptorID(number: 99_999), peer: shared, local: nil)
        #expect(Server.recordingLocals(records + [closed]).map(\.id) == ["alone", "twin-1", "twin-2"])
    }
}
