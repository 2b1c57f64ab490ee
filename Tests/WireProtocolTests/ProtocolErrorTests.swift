// ProtocolError's ERR code and detail for each case, and the spelling of every ErrorCode on the wire.
import Testing
import WireProtocol

@Suite struct ProtocolErrorTests {
    @Test(arguments: [
        (ProtocolError.lineTooLong(limit: 256), ErrorCode.lineTooLong, "limit 256 bytes"),
        (.lineTooLong(limit: 8), .lineTooLong, "limit 8 bytes"),
        (.badLine("byte 0x00 at column 5"), .badLine, "byte 0x00 at column 5"),
        (.badHello("missing id"), .badHello, "missing id"),
    ])
    func codeAndDetail(error: ProtocolError, code: ErrorCode, detail: String) {
        #expect(error.code == code)
        #expect(error.detail == detail)
    }

    @Test(arguments: [
        (ErrorCode.badHello, "bad-hello"),
        (.authFailed, "auth-failed"),
        (.serverFull, "server-full"),
        (.helloTimeout, "hello-timeout"),
        (.lineTooLong, "line-too-long"),
        (.badLine, "bad-line"),
        (.unknownCommand, "unknown-command"),
    ])
    func wireSpelling(code: ErrorCode, spelling: String) {
        #expect(code.rawValue == spelling)
    }
}
