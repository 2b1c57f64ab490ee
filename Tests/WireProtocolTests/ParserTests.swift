// Parser.parse as tables: every HELLO form, valid and not; PING with and without a tag; BYE; empty
// lines; unknown and lower-case verbs; and ranges that point into a larger buffer.
import Testing
import WireProtocol

private let id64 = String(repeating: "i", count: 64)
private let tag32 = String(repeating: "t", count: 32)
private let token128 = String(repeating: "0123456789abcdef", count: 8)

private let parserCases: [(String, Parsed)] = [
    // Empty lines are heartbeats without a reply.
    ("", .empty),
    (" ", .empty),
    ("     ", .empty),

    // PING
    ("PING", .ping(nil)),
    ("PING abc", .ping("abc")),
    ("  PING   abc  ", .ping("abc")),
    ("PING ", .ping(nil)),
    ("PING \(tag32)", .ping(tag32)),
    ("PING \(tag32)x", .error(.badLine("tag longer than 32 bytes"))),
    ("PING !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", .ping("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}")),
    ("PING a b", .error(.badLine("PING takes at most one tag"))),
    ("PING a  b  c", .error(.badLine("PING takes at most one tag"))),

    // BYE
    ("BYE", .bye),
    ("  BYE  ", .bye),
    ("BYE x", .error(.badLine("BYE takes no words"))),

    // Verbs are case-sensitive; anything else is an unknown command, whatever follows it.
    ("ping", .other("ping")),
    ("Ping x", .other("Ping")),
    ("bye", .other("bye")),
    ("hello a", .other("hello")),
    ("PONG", .other("PONG")),
    ("PINGPING", .other("PINGPING")),
    ("PIN", .other("PIN")),
    ("HELLOX a", .other("HELLOX")),
    ("STATUS now please", .other("STATUS")),
    ("  STATUS", .other("STATUS")),
    ("=", .other("=")),

    // HELLO: the id and each of its byte classes
    ("HELLO a", .hello(Hello(id: "a"))),
    ("  HELLO   a  ", .hello(Hello(id: "a"))),
    ("HELLO ABCDEFGHIJKLMNOPQRSTUVWXYZ", .hello(Hello(id: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))),
    ("HELLO abcdefghijklmnopqrstuvwxyz", .hello(Hello(id: "abcdefghijklmnopqrstuvwxyz"))),
    ("HELLO 0123456789", .hello(Hello(id: "0123456789"))),
    ("HELLO .", .hello(Hello(id: "."))),
    ("HELLO _", .hello(Hello(id: "_"))),
    ("HELLO :", .hello(Hello(id: ":"))),
    ("HELLO @", .hello(Hello(id: "@"))),
    ("HELLO -", .hello(Hello(id: "-"))),
    ("HELLO web-7.eu_west:a@dc1", .hello(Hello(id: "web-7.eu_west:a@dc1"))),
    ("HELLO \(id64)", .hello(Hello(id: id64))),
    ("HELLO \(id64)i", .error(.badHello("id longer than 64 bytes"))),
    ("HELLO", .error(.badHello("missing id"))),
    ("HELLO   ", .error(.badHello("missing id"))),
    // The neighbours of each id byte class, and a few more.
    ("HELLO a/b", .error(.badHello("id has byte '/'"))),
    ("HELLO a;b", .error(.badHello("id has byte ';'"))),
    ("HELLO a?b", .error(.badHello("id has byte '?'"))),
    ("HELLO a[b", .error(.badHello("id has byte '['"))),
    ("HELLO a`b", .error(.badHello("id has byte '`'"))),
    ("HELLO a{b", .error(.badHello("id has byte '{'"))),
    ("HELLO a,b", .error(.badHello("id has byte ','"))),
    ("HELLO a^b", .error(.badHello("id has byte '^'"))),
    ("HELLO !", .error(.badHello("id has byte '!'"))),
    ("HELLO a~", .error(.badHello("id has byte '~'"))),
    ("HELLO interval=5", .error(.badHello("id has byte '='"))),

    // interval
    ("HELLO a interval=1", .hello(Hello(id: "a", intervalMS: 1))),
    ("HELLO a interval=0", .hello(Hello(id: "a", intervalMS: 0))),
    ("HELLO a interval=0000000001", .hello(Hello(id: "a", intervalMS: 1))),
    ("HELLO a interval=9999999999", .hello(Hello(id: "a", intervalMS: 9_999_999_999))),
    ("HELLO a interval=10000000000", .error(.badHello("interval must be 1 to 10 digits"))),
    ("HELLO a interval=", .error(.badHello("interval must be 1 to 10 digits"))),
    ("HELLO a interval=12a", .error(.badHello("interval has byte 'a'"))),
    ("HELLO a interval=-1", .error(.badHello("interval has byte '-'"))),
    ("HELLO a interval=+1", .error(.badHello("interval has byte '+'"))),
    ("HELLO a interval=1=2", .error(.badHello("interval has byte '='"))),
    ("HELLO a interval=1 interval=2", .error(.badHello("duplicate option 'interval'"))),

    // token
    ("HELLO a token=0123456789abcdef", .hello(Hello(id: "a", token: "0123456789abcdef"))),
    ("HELLO a token=ABCDEF", .hello(Hello(id: "a", token: "abcdef"))),
    ("HELLO a token=aBcD09", .hello(Hello(id: "a", token: "abcd09"))),
    ("HELLO a token=\(token128)", .hello(Hello(id: "a", token: token128))),
    ("HELLO a token=\(token128)0", .error(.badHello("token must be 1 to 128 hex digits"))),
    ("HELLO a token=", .error(.badHello("token must be 1 to 128 hex digits"))),
    ("HELLO a token=abcdefg", .error(.badHello("token has byte 'g'"))),
    ("HELLO a token=0x12", .error(.badHello("token has byte 'x'"))),
    ("HELLO a token=ab token=ab", .error(.badHello("duplicate option 'token'"))),

    // Options in either order, each at most once.
    ("HELLO a interval=5000 token=ab", .hello(Hello(id: "a", intervalMS: 5000, token: "ab"))),
    ("HELLO a token=ab interval=5000", .hello(Hello(id: "a", intervalMS: 5000, token: "ab"))),
    ("HELLO a   token=ab    interval=5000  ", .hello(Hello(id: "a", intervalMS: 5000, token: "ab"))),
    ("HELLO a interval=1 token=ab interval=2", .error(.badHello("duplicate option 'interval'"))),

    // Unknown options and extra words.
    ("HELLO a foo=1", .error(.badHello("unknown option 'foo'"))),
    ("HELLO a Interval=1", .error(.badHello("unknown option 'Interval'"))),
    ("HELLO a intervals=1", .error(.badHello("unknown option 'intervals'"))),
    ("HELLO a =1", .error(.badHello("unknown option ''"))),
    (
        "HELLO a \(String(repeating: "k", count: 40))=1",
        .error(.badHello("unknown option '\(String(repeating: "k", count: 32))...'"))
    ),
    ("HELLO a b", .error(.badHello("unexpected word 'b'"))),
    ("HELLO a interval=5 b", .error(.badHello("unexpected word 'b'"))),
    ("HELLO a b interval=5", .error(.badHello("unexpected word 'b'"))),
]

@Suite struct ParserTests {
    @Test(arguments: parserCases)
    func table(line: String, expected: Parsed) {
        #expect(Parsed(line) == expected)
    }

    @Test func rangesPointIntoTheWholeBuffer() throws {
        let buffer = bytes("xxPING tag\nPING\nNOPE  a\nyy")
        try buffer.withUnsafeBytes { buffer throws in
            #expect(try Parser.parse(buffer, line: 2..<10) == .ping(tag: 7..<10))
            #expect(try Parser.parse(buffer, line: 11..<15) == .ping(tag: nil))
            #expect(try Parser.parse(buffer, line: 16..<23) == .other(verb: 16..<20))
            #expect(try Parser.parse(buffer, line: 2..<2) == .empty)
        }
    }

    @Test func parsesOnlyTheGivenLine() throws {
        // The bytes after the range would make this a two-word PING; the parser must not see them.
        let buffer = bytes("PING tag extra")
        try buffer.withUnsafeBytes { buffer throws in
            #expect(try Parser.parse(buffer, line: 0..<8) == .ping(tag: 5..<8))
            #expect(try Parser.parse(buffer, line: 0..<4) == .ping(tag: nil))
        }
    }
}
