// PresenceEvent: the exact lines of each kind (online with null reason, a kick with its note) and
// reading them back.
import ControlProtocol
import Testing

@Suite struct PresenceEventTests {
    @Test func onlineLine() {
        let event = PresenceEvent(seq: 1, kind: .online, timeMS: 0, id: "dev-1", peer: "127.0.0.1:4000", worker: 0)
        #expect(
            event.json.line
                == #"{"seq":1,"event":"online","time":"1970-01-01T00:00:00.000Z","time_ms":0,"id":"dev-1","peer":"127.0.0.1:4000","worker":0,"reason":null,"duration_ms":0}"#
                + "\n")
    }

    @Test func kickedLine() {
        let event = PresenceEvent(
            seq: 9, kind: .offline, timeMS: 1_700_000_000_123, id: "dev-1", peer: "[::1]:4000", worker: 2,
            reason: "kicked", durationMS: 5_120, note: "bad \"firmware\"")
        #expect(
            event.json.line
                == #"{"seq":9,"event":"offline","time":"2023-11-14T22:13:20.123Z","time_ms":1700000000123,"id":"dev-1","peer":"[::1]:4000","worker":2,"reason":"kicked","duration_ms":5120,"note":"bad \"firmware\""}"#
                + "\n")
    }

    @Test(arguments: PresenceEvent.Kind.allCases)
    func readsBack(kind: PresenceEvent.Kind) throws {
        let event = PresenceEvent(
            seq: 3, kind: kind, timeMS: 42, id: "a", peer: "p", worker: 1,
            reason: kind == .online ? nil : "eof", durationMS: kind == .online ? 0 : 7)
        #expect(try decode(PresenceEvent.self, event.json.line) == event)
    }

    @Test func restartedCarriesItsCounts() throws {
        var event = PresenceEvent(
            seq: 42, kind: .restarted, timeMS: 1_700_000_000_123, id: "", peer: "", worker: 0, durationMS: 180)
        event.restart = PresenceEvent.Restart(restored: 15_000, orphaned: 1, lost: 2)
        #expect(event.json.line.contains(#""restored":15000,"orphaned":1,"lost":2"#))
        #expect(try decode(PresenceEvent.self, event.json.line) == event)
    }

    @Test func refusesAnUnknownKind() {
        var object = PresenceEvent(seq: 1, kind: .online, timeMS: 0, id: "a", peer: "p", worker: 0).json
        object["event"] = .string("away")
        #expect(throws: ControlError.badAnswer(#"the answer's "event" is an unknown event "away""#)) {
            try decode(PresenceEvent.self, object.line)
        }
    }
}
