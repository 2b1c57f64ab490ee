// ControlError: each case's code and message, the answer line, and reading an answer back.
import ControlProtocol
import Testing

@Suite struct ControlErrorTests {
    @Test(arguments: [
        (
            ControlError.requestTooLong(limit: 4096), "request-too-long",
            "a request line may be at most 4096 bytes including its newline"
        ),
        (.badRequest("client needs a client id"), "bad-request", "client needs a client id"),
        (
            .unknownCommand("list"), "unknown-command",
            "unknown command \"list\" (known: status, clients, client, kick, reload, watch, upgrade)"
        ),
        (.notConnected(id: "dev-9"), "not-connected", "no client dev-9 is connected"),
        (.permissionDenied("uid 65534 may not"), "permission-denied", "uid 65534 may not"),
        (
            .reloadFailed("x.toml: limits.max_line: too big"), "reload-failed",
            "reload failed, the running configuration stays: x.toml: limits.max_line: too big"
        ),
        (.tooSlow(limit: 65536), "too-slow", "disconnected: the watcher fell more than 65536 bytes behind"),
        (.busy(limit: 64), "busy", "too many control connections (limit 64)"),
        (.shuttingDown, "shutting-down", "heartbeatd is stopping"),
        (
            .badJSON(line: "{\"a\":01}"), "bad-json",
            #"heartbeatd answered with a line that is not a JSON object: "{\"a\":01}""#
        ),
        (.badAnswer("no id"), "bad-answer", "no id"),
    ])
    func codeAndMessage(error: ControlError, code: String, message: String) {
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(error.description == message)
    }

    @Test func answerLineReadsBack() throws {
        let answer = ControlError.notConnected(id: "dev-9").answer
        #expect(answer.line == #"{"ok":false,"error":"not-connected","message":"no client dev-9 is connected"}"# + "\n")
        let read = try #require(try decode(AnswerHead.self, answer.line).failure)
        #expect(read == .answered(code: "not-connected", message: "no client dev-9 is connected"))
        #expect(try decode(AnswerHead.self, JSONObject(["ok": .bool(true)]).line).failure == nil)
        #expect(try decode(AnswerHead.self, JSONObject().line).failure == nil)
    }
}
