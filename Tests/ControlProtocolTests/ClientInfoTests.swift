// ClientInfo: the exact line it makes, reading it back (as a record and as an answer), and the
// member a broken answer lacks.
import ControlProtocol
import Testing

@Suite struct ClientInfoTests {
    let info = ClientInfo(
        id: "dev-1", peer: "10.0.0.7:51234", worker: 1, intervalMS: 10_000, timeoutMS: 30_000,
        connectedAtMS: 1_700_000_000_123, lastHeardMSAgo: 2_140)

    @Test func line() {
        #expect(
            info.json().line
                == #"{"id":"dev-1","peer":"10.0.0.7:51234","worker":1,"interval_ms":10000,"timeout_ms":30000,"connected_at":"2023-11-14T22:13:20.123Z","connected_at_ms":1700000000123,"last_heard_ms_ago":2140}"#
                + "\n")
    }

    @Test func answerPutsOkFirst() {
        let answer = info.json(into: JSONObject(["ok": .bool(true)]))
        #expect(answer.members.first?.key == "ok")
        #expect(answer.members.count == 9)
    }

    @Test func readsBack() throws {
        #expect(try decode(ClientInfo.self, info.json().line) == info)
        #expect(try decode(ClientInfo.self, info.json(into: JSONObject(["ok": .bool(true)])).line) == info)
    }

    @Test func namesTheMissingMember() {
        var object = info.json()
        object["last_heard_ms_ago"] = nil
        #expect(throws: ControlError.badAnswer(#"the answer has no "last_heard_ms_ago""#)) {
            try decode(ClientInfo.self, object.line)
        }
    }
}
