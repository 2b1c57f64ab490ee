// The JSON reader as tables: what it reads back (every encoder output included), and what it refuses
// with the offset and reason it reports.
import ControlProtocol
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        (" false ", .bool(false)),
        ("0", .integer(0)),
        ("-0", .integer(0)),
        ("12345", .integer(12345)),
        ("-9223372036854775808", .integer(Int64.min)),
        ("9223372036854775807", .integer(Int64.max)),
        (#""""#, .string("")),
        (#""a\"b\\c\/d""#, .string("a\"b\\c/d")),
        (#""\n\r\t\b\f""#, .string("\n\r\t\u{8}\u{c}")),
        (#""\u0041\u00e9\u2713""#, .string("Aé✓")),
        (#""\ud83d\ude42""#, .string("🙂")),
        ("\"é 🙂\"", .string("é 🙂")),
        ("[]", .array([])),
        ("[ 1 , [ 2 ] , {} ]", .array([.integer(1), .array([.integer(2)]), .object(JSONObject())])),
        (#"{"a":1,"b":{"c":[true,null]}}"#, .object(JSONObject(["a": .integer(1), "b": .object(JSONObject(["c": .array([.bool(true), .null])]))]))),
        ("{ \"k\" :\t\"v\" }\n", .object(JSONObject(["k": .string("v")]))),
        ("{}\r\n", .object(JSONObject())),
    ])
    func reads(text: String, value: JSONValue) throws {
        #expect(try JSONValue(parsing: text) == value)
    }

    @Test(arguments: [
        ("", 0, "unexpected end of text"),
        ("nul", 3, "expected null"),
        ("tru", 3, "expected true"),
        ("01", 0, "leading zero"),
        ("-", 1, "expected a digit"),
        ("1.5", 1, "only integers are used"),
        ("1e3", 1, "only integers are used"),
        ("9223372036854775808", 0, "number out of range"),
        ("-9223372036854775809", 0, "number out of range"),
        ("99999999999999999999", 0, "number out of range"),
        (#""abc"#, 4, "unterminated string"),
        ("\"a\nb\"", 2, "control byte 0x0a in a string"),
        (#""\x""#, 2, "unknown escape \\x"),
        (#""\u12""#, 5, "expected a hex digit"),
        (#""\ud83d""#, 7, "lone surrogate"),
        (#""\ude42""#, 7, "lone surrogate"),
        (#""\ud83d\u0041""#, 13, "lone surrogate"),
        ("[1,]", 3, "unexpected byte 0x5d"),
        ("[1 2]", 3, "expected , or ]"),
        ("{\"a\" 1}", 5, "expected :"),
        ("{a:1}", 1, "expected a key in quotes"),
        (#"{"a":1,"a":2}"#, 10, "key \"a\" appears twice"),
        (#"{"a":1"#, 6, "unexpected end of text"),
        ("1 2", 2, "unexpected text after the value"),
        ("[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", 16, "nested deeper than 16"),
        ("'x'", 0, "unexpected byte 0x27"),
    ])
    func refuses(text: String, offset: Int, reason: String) {
        #expect(throws: ControlError.badJSON(offset: offset, reason)) { try JSONValue(parsing: text) }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: ControlError.badJSON(offset: 4, "string is not valid UTF-8")) { try JSONValue(parsing: bytes) }
    }

    @Test func readsBackWhatItWrites() throws {
        let values: [JSONValue] = [
            .string("\u{0}\u{1f}\"\\\n é🙂"),
            .object(JSONObject(["x": .array([.integer(-1), .integer(Int64.max), .null, .bool(true)]), "y": .object(JSONObject())])),
        ]
        for value in values { #expect(try JSONValue(parsing: value.text) == value) }
    }

    @Test func lineMustBeAnObject() throws {
        #expect(try JSONObject(parsingLine: Array(#"{"ok":true}"#.utf8) + [0x0A]) == JSONObject(["ok": .bool(true)]))
        #expect(throws: ControlError.badJSON(offset: 0, "expected an object")) { try JSONObject(parsingLine: "[1]".utf8) }
    }
}
