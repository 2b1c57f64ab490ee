// Reply's exact bytes for each line the server sends, hand-formatted numbers at their edges, and
// free text cut and cleaned so that no reply breaks framing or exceeds Reply.maxLength.
import Testing
import WireProtocol

private func reply(_ encode: (inout [UInt8]) -> Void) -> String {
    var out: [UInt8] = []
    encode(&out)
    return String(decoding: out, as: UTF8.self)
}

private func withBuffer<Result>(_ text: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    bytes(text).withUnsafeBytes(body)
}

@Suite struct ReplyTests {
    @Test(arguments: [
        (UInt64(10_000), UInt64(30_000), "OK node-1 interval=10000 timeout=30000\n"),
        (0, 0, "OK node-1 interval=0 timeout=0\n"),
        (1, 9, "OK node-1 interval=1 timeout=9\n"),
        (10, 99, "OK node-1 interval=10 timeout=99\n"),
        (100, 1_000_000_007, "OK node-1 interval=100 timeout=1000000007\n"),
        (9_999_999_999, 10_000_000_000, "OK node-1 interval=9999999999 timeout=10000000000\n"),
        (UInt64.max, UInt64.max - 1, "OK node-1 interval=18446744073709551615 timeout=18446744073709551614\n"),
    ])
    func ok(intervalMS: UInt64, timeoutMS: UInt64, expected: String) {
        #expect(
            reply { Reply.appendOK(id: "node-1", intervalMS: intervalMS, timeoutMS: timeoutMS, to: &$0) } == expected)
    }

    @Test func okCutsAnOverlongID() {
        let line = reply {
            Reply.appendOK(id: String(repeating: "a", count: 100), intervalMS: 1, timeoutMS: 3, to: &$0)
        }
        #expect(line == "OK \(String(repeating: "a", count: 64)) interval=1 timeout=3\n")
    }

    @Test(arguments: [
        ("abc", "PONG abc\n"),
        ("", "PONG\n"),
        ("!#~", "PONG !#~\n"),
        (String(repeating: "t", count: 32), "PONG \(String(repeating: "t", count: 32))\n"),
        (String(repeating: "t", count: 40), "PONG \(String(repeating: "t", count: 32))\n"),
        ("a\tb\u{0}", "PONG a?b?\n"),
    ])
    func pong(tag: String, expected: String) {
        #expect(withBuffer(tag) { tag in reply { Reply.appendPong(tag: tag, to: &$0) } } == expected)
    }

    @Test func pongWithoutTag() {
        #expect(reply { Reply.appendPong(tag: nil, to: &$0) } == "PONG\n")
    }

    @Test(arguments: [
        (ErrorCode.badHello, "ERR bad-hello\n"),
        (.authFailed, "ERR auth-failed\n"),
        (.serverFull, "ERR server-full\n"),
        (.helloTimeout, "ERR hello-timeout\n"),
        (.lineTooLong, "ERR line-too-long\n"),
        (.badLine, "ERR bad-line\n"),
        (.unknownCommand, "ERR unknown-command\n"),
    ])
    func errorWithoutDetail(code: ErrorCode, expected: String) {
        #expect(reply { Reply.appendError(code, to: &$0) } == expected)
        #expect(reply { Reply.appendError(code, text: "", to: &$0) } == expected)
    }

    @Test(arguments: [
        ("STATUS", "ERR unknown-command STATUS\n"),
        (String(repeating: "V", count: 32), "ERR unknown-command \(String(repeating: "V", count: 32))\n"),
        (String(repeating: "V", count: 33), "ERR unknown-command \(String(repeating: "V", count: 32))\n"),
        ("", "ERR unknown-command\n"),
    ])
    func unknownCommandEchoesTheVerb(verb: String, expected: String) {
        #expect(
            withBuffer(verb) { verb in reply { Reply.appendError(.unknownCommand, detail: verb, to: &$0) } } == expected
        )
    }

    @Test func errorWithDetailBytes() {
        let line = withBuffer("no room") { detail in reply { Reply.appendError(.serverFull, detail: detail, to: &$0) } }
        #expect(line == "ERR server-full no room\n")
    }

    @Test(arguments: [
        (ErrorCode.badHello, "id has byte '!'", "ERR bad-hello id has byte '!'\n"),
        (.lineTooLong, "limit 256 bytes", "ERR line-too-long limit 256 bytes\n"),
        (.badLine, "byte 0x00 at column 5", "ERR bad-line byte 0x00 at column 5\n"),
        (.authFailed, "two\nlines", "ERR auth-failed two?lines\n"),
        (.badHello, "caf\u{E9}", "ERR bad-hello caf??\n"),
    ])
    func errorWithText(code: ErrorCode, text: String, expected: String) {
        #expect(reply { Reply.appendError(code, text: text, to: &$0) } == expected)
    }

    @Test(arguments: [ErrorCode.badHello, .unknownCommand, .lineTooLong])
    func longErrorTextIsCutToMaxLength(code: ErrorCode) {
        let long = String(repeating: "x", count: 1_000)
        let fromText = reply { Reply.appendError(code, text: long, to: &$0) }
        #expect(fromText.utf8.count == Reply.maxLength)
        #expect(fromText.hasPrefix("ERR \(code.rawValue) xxx"))
        #expect(fromText.hasSuffix("x\n"))
        if code != .unknownCommand {
            let fromBytes = withBuffer(long) { detail in reply { Reply.appendError(code, detail: detail, to: &$0) } }
            #expect(fromBytes == fromText)
        }
    }

    @Test(arguments: [
        ("replaced", "BYE replaced\n"),
        ("shutdown", "BYE shutdown\n"),
        ("", "BYE\n"),
        ("a\rb", "BYE a?b\n"),
    ])
    func bye(reason: String, expected: String) {
        #expect(reply { Reply.appendBye(reason, to: &$0) } == expected)
    }

    @Test func longByeReasonIsCutToMaxLength() {
        let line = reply { Reply.appendBye(String(repeating: "r", count: 300), to: &$0) }
        #expect(line == "BYE \(String(repeating: "r", count: 251))\n")
        #expect(line.utf8.count == Reply.maxLength)
    }

    @Test func repliesAppendAfterWhatIsAlreadyThere() {
        let line = reply { out in
            Reply.appendPong(tag: nil, to: &out)
            Reply.appendBye("bye", to: &out)
        }
        #expect(line == "PONG\nBYE bye\n")
    }

    @Test func worstCaseRepliesFitMaxLength() {
        let huge = String(repeating: "z", count: 10_000)
        var lines: [[UInt8]] = []
        var out: [UInt8] = []
        Reply.appendOK(id: huge, intervalMS: .max, timeoutMS: .max, to: &out)
        lines.append(out)
        for code in [
            ErrorCode.badHello, .authFailed, .serverFull, .helloTimeout, .lineTooLong, .badLine, .unknownCommand,
        ] {
            out = []
            Reply.appendError(code, text: huge, to: &out)
            lines.append(out)
            out = []
            withBuffer(huge) { Reply.appendError(code, detail: $0, to: &out) }
            lines.append(out)
        }
        out = []
        withBuffer(huge) { Reply.appendPong(tag: $0, to: &out) }
        lines.append(out)
        out = []
        Reply.appendBye(huge, to: &out)
        lines.append(out)
        for line in lines {
            #expect(line.count <= Reply.maxLength)
            #expect(line.last == 0x0A)
            #expect(line.dropLast().allSatisfy { $0 >= 0x20 && $0 <= 0x7E })
        }
    }
}
