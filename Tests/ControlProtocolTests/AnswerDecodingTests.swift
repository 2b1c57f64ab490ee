// Reading answer lines with the Decodable models and FoundationEssentials' JSONDecoder, as
// heartbeatctl does: every encoder output reads back, members the models do not know are ignored,
// and a broken line is one ControlError that says what was wrong (not JSON, which member, why).
import ControlProtocol
import FoundationEssentials
import Testing

/// heartbeatctl's AnswerDecoder, here where the test can reach it.
func decode<Model: Decodable>(_ type: Model.Type, _ line: String) throws(ControlError) -> Model {
    do {
        return try JSONDecoder().decode(type, from: Data(line.utf8))
    } catch let error as DecodingError {
        throw ControlError(error, line: line)
    } catch {
        throw .badAnswer("not a DecodingError: \(error)")
    }
}

@Suite struct AnswerDecodingTests {
    let info = ClientInfo(
        id: "dev-1", peer: "[::1]:4000", worker: 0, intervalMS: 1, timeoutMS: 3,
        connectedAtMS: UInt64(Int64.max), lastHeardMSAgo: 0)

    @Test(arguments: ["", "\u{0}\u{1f}\"\\\n\r\t é🙂", "a/b", "\u{8}\u{c}✓"])
    func readsBackEveryStringTheEncoderWrites(text: String) throws {
        let event = PresenceEvent(
            seq: 1, kind: .offline, timeMS: 0, id: "a", peer: "p", worker: 0, reason: "kicked",
            durationMS: 1, note: text)
        #expect(try decode(PresenceEvent.self, event.json.line) == event)
    }

    @Test func readsEscapesAndNumbersItDoesNotWriteItself() throws {
        let line =
            #"{ "id" : "\u0064ev-1", "peer":"\/p\ud83d\ude42", "worker":0, "interval_ms":1,"timeout_ms":3,"#
            + #""connected_at_ms":9223372036854775807,"last_heard_ms_ago":0}"# + "\r\n"
        let read = try decode(ClientInfo.self, line)
        #expect(read.id == "dev-1")
        #expect(read.peer == "/p🙂")
        #expect(read.connectedAtMS == UInt64(Int64.max))
    }

    @Test func ignoresMembersItDoesNotKnow() throws {
        var object = info.json(into: JSONObject(["ok": .bool(true)]))
        object["firmware"] = .object(JSONObject(["version": .string("2.1"), "flags": .array([.null, .bool(true)])]))
        object["tls"] = .bool(true)
        #expect(try decode(ClientInfo.self, object.line) == info)
    }

    @Test(arguments: [
        #"{"id":"dev-1""#,
        #"{"id":"dev-1"} trailing"#,
        "{'id':'dev-1'}",
        #"{"id":"a"b"}"#,
        "{\"id\":\"a\nb\"}",
        "",
        "not json at all",
        "[1,2]",
        #""a string""#,
        "42",
    ])
    func refusesWhatIsNotAJSONObject(line: String) {
        #expect(throws: ControlError.badJSON(line: line)) { try decode(ClientInfo.self, line) }
    }

    @Test func showsAtMost80CharactersOfABrokenLine() {
        let line = String(repeating: "x", count: 200)
        #expect(throws: ControlError.badJSON(line: String(repeating: "x", count: 80) + "…")) {
            try decode(ClientInfo.self, line)
        }
        let error = ControlError.badJSON(line: "{")
        #expect(error.message == #"heartbeatd answered with a line that is not a JSON object: "{""#)
        #expect(error.code == "bad-json")
    }

    @Test func namesTheMemberAndWhatIsWrongWithIt() {
        var object = info.json()
        object["id"] = nil
        #expect(throws: ControlError.badAnswer(#"the answer has no "id""#)) { try decode(ClientInfo.self, object.line) }
        object["id"] = .string("dev-1")
        object["worker"] = .integer(-1)
        #expect(throws: ControlError.badAnswer(#"the answer's "worker" is negative (-1)"#)) {
            try decode(ClientInfo.self, object.line)
        }
        object["worker"] = .string("0")
        #expect(throws: ControlError.badAnswer(#"the answer's "worker" is not an integer"#)) {
            try decode(ClientInfo.self, object.line)
        }
        object["worker"] = .null
        #expect(throws: ControlError.badAnswer(#"the answer's "worker" is not an integer"#)) {
            try decode(ClientInfo.self, object.line)
        }
        object["worker"] = .integer(0)
        object["peer"] = .bool(true)
        #expect(throws: ControlError.badAnswer(#"the answer's "peer" is not a string"#)) {
            try decode(ClientInfo.self, object.line)
        }
    }

    @Test func namesANestedMember() {
        let line =
            #"{"ok":true,"version":"0.1.0","pid":1,"started_at_ms":0,"uptime_ms":0,"workers":1,"clients":0,"#
            + #""connected":0,"sessions_total":0,"heartbeats_total":0,"reaps":{"eof":-2},"accept_errors":{},"#
            + #""config_file":null,"offline_grace_ms":0,"offline_held":0,"watchers":0}"#
        #expect(throws: ControlError.badAnswer(#"the answer's "reaps.eof" is negative (-2)"#)) {
            try decode(StatusReport.self, line)
        }
    }

    @Test func theHeadTellsAnErrorAnswerFromTheRest() throws {
        let error = try decode(AnswerHead.self, ControlError.notConnected(id: "dev-9").answer.line)
        #expect(error.failure == .answered(code: "not-connected", message: "no client dev-9 is connected"))
        #expect(try decode(AnswerHead.self, #"{"ok":true,"count":0}"#).failure == nil)
        #expect(try decode(AnswerHead.self, #"{"ok":true,"count":0}"#).ok == true)
        #expect(try decode(AnswerHead.self, info.json().line).ok == nil)
        #expect(try decode(AnswerHead.self, #"{"ok":false}"#).failure == .answered(code: "unknown", message: ""))
    }
}
