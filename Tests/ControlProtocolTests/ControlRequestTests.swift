// ControlRequest as tables: every request form, the lines heartbeatctl writes for them (which must
// parse back to the same request), and what is refused and why.
import ControlProtocol
import Testing

private let id64 = String(repeating: "i", count: 64)

@Suite struct ControlRequestTests {
    @Test(arguments: [
        ("status", ControlRequest.status),
        ("  status  ", .status),
        ("status\r", .status),
        ("clients", .clients(match: nil)),
        ("client dev-1", .client(id: "dev-1")),
        ("client \(id64)", .client(id: id64)),
        ("client web-7.eu_west:a@dc1", .client(id: "web-7.eu_west:a@dc1")),
        ("kick dev-1", .kick(id: "dev-1", note: nil)),
        ("kick dev-1 --reason  firmware 2.1 rollout ", .kick(id: "dev-1", note: "firmware 2.1 rollout")),
        ("kick dev-1 --reason é ✓", .kick(id: "dev-1", note: "é ✓")),
        ("reload", .reload),
        ("watch", .watch),
    ])
    func parses(line: String, request: ControlRequest) throws {
        #expect(try ControlRequest(parsing: line.utf8) == request)
    }

    @Test(arguments: [
        ("clients --match dev-*", "dev-*"),
        ("clients   --match   [a-c]?  ", "[a-c]?"),
        ("clients --match \\*", "\\*"),
    ])
    func parsesPatterns(line: String, pattern: String) throws {
        #expect(try ControlRequest(parsing: line.utf8) == .clients(match: try Glob(pattern)))
    }

    @Test func writesLinesThatParseBack() throws {
        let requests: [(ControlRequest, String)] = [
            (.status, "status\n"),
            (.clients(match: nil), "clients\n"),
            (.clients(match: try Glob("dev-*")), "clients --match dev-*\n"),
            (.client(id: "dev-1"), "client dev-1\n"),
            (.kick(id: "dev-1", note: nil), "kick dev-1\n"),
            (.kick(id: "dev-1", note: "maintenance window"), "kick dev-1 --reason maintenance window\n"),
            (.reload, "reload\n"),
            (.watch, "watch\n"),
        ]
        for (request, line) in requests {
            #expect(request.line == line)
            #expect(try ControlRequest(parsing: line.utf8.dropLast()) == request)
        }
    }

    @Test(arguments: [
        ("", ControlError.badRequest("empty request")),
        ("   ", .badRequest("empty request")),
        ("STATUS", .unknownCommand("STATUS")),
        ("list", .unknownCommand("list")),
        ("status now", .badRequest("status takes no \"now\"")),
        ("clients --json", .badRequest("clients takes only --match GLOB")),
        ("clients --match", .badRequest("clients takes only --match GLOB")),
        ("clients --match a b", .badRequest("clients takes no \"b\"")),
        ("clients --match [a", .badRequest("pattern \"[a\" has a [ without its ]")),
        ("client", .badRequest("client needs a client id")),
        ("client a b", .badRequest("client takes no \"b\"")),
        ("client dev/1", .badRequest("\"dev/1\" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)")),
        ("client \(id64)i", .badRequest("\"\(id64)i\" is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)")),
        ("kick", .badRequest("kick needs a client id")),
        ("kick dev-1 now", .badRequest("kick takes only --reason TEXT after the id")),
        ("kick dev-1 --reason", .badRequest("--reason needs a text")),
        ("kick dev-1 --reason   ", .badRequest("--reason needs a text")),
        (
            "kick dev-1 --reason \(String(repeating: "x", count: 257))",
            .badRequest("--reason text longer than 256 bytes")
        ),
        ("reload please", .badRequest("reload takes no \"please\"")),
        ("watch dev-1", .badRequest("watch takes no \"dev-1\"")),
        ("status\tnow", .badRequest("control byte 0x09 in the request")),
        ("st\u{7F}atus", .badRequest("control byte 0x7f in the request")),
    ])
    func refuses(line: String, error: ControlError) {
        #expect(throws: error) { try ControlRequest(parsing: line.utf8) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: ControlError.badRequest("the request is not valid UTF-8")) {
            try ControlRequest(parsing: [UInt8(ascii: "s"), 0xFF])
        }
    }

    @Test func refusesALineAtTheLimit() throws {
        let longest =
            "kick dev-1 --reason " + String(repeating: "x", count: 200)
            + String(repeating: " ", count: ControlRequest.maxLine - 221)
        #expect(
            try ControlRequest(parsing: longest.utf8) == .kick(id: "dev-1", note: String(repeating: "x", count: 200)))
        #expect(throws: ControlError.requestTooLong(limit: 4096)) { try ControlRequest(parsing: (longest + " ").utf8) }
    }
}
