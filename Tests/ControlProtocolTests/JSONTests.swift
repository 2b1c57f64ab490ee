// JSONValue's encoder as a table: every kind of value, escapes, key order and replacing a key.
import ControlProtocol
import Testing

@Suite struct JSONTests {
    @Test(arguments: [
        (JSONValue.null, "null"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.integer(0), "0"),
        (.integer(-42), "-42"),
        (.integer(Int64.max), "9223372036854775807"),
        (.integer(Int64.min), "-9223372036854775808"),
        (.string(""), #""""#),
        (.string("dev-1"), #""dev-1""#),
        (.string("a\"b\\c"), #""a\"b\\c""#),
        (.string("line\nnext\r\t"), #""line\nnext\r\t""#),
        (.string("\u{0}\u{1}\u{1f}\u{8}\u{c}"), #""\u0000\u0001\u001f\b\f""#),
        (.string("é ✓ 🙂"), "\"é ✓ 🙂\""),
        (.string("/path"), #""/path""#),
        (.array([]), "[]"),
        (.array([.integer(1), .string("x"), .null]), #"[1,"x",null]"#),
        (.object(JSONObject()), "{}"),
        (.object(JSONObject(["b": .integer(1), "a": .array([.bool(false)])])), #"{"b":1,"a":[false]}"#),
        (.object(JSONObject(["o": .object(JSONObject(["k": .string("v")]))])), #"{"o":{"k":"v"}}"#),
    ])
    func encodes(value: JSONValue, text: String) {
        #expect(value.text == text)
    }

    @Test func keysKeepTheirOrderAndReplaceInPlace() {
        var object = JSONObject()
        object["z"] = .integer(1)
        object["a"] = .integer(2)
        object["m"] = .integer(3)
        object["a"] = .string("two")
        #expect(object.line == #"{"z":1,"a":"two","m":3}"# + "\n")
        object["z"] = nil
        #expect(object.line == #"{"a":"two","m":3}"# + "\n")
        object["absent"] = nil
        #expect(object.members.map(\.key) == ["a", "m"])
    }

    @Test func typedLookUps() {
        let object = JSONObject([
            "s": .string("x"), "i": .integer(7), "b": .bool(true), "o": .object(JSONObject()), "a": .array([]),
            "n": .null,
        ])
        #expect(object.string("s") == "x")
        #expect(object.integer("i") == 7)
        #expect(object.bool("b") == true)
        #expect(object.object("o") == JSONObject())
        #expect(object.array("a") == [])
        #expect(object.string("i") == nil)
        #expect(object.integer("s") == nil)
        #expect(object.bool("n") == nil)
        #expect(object.string("missing") == nil)
    }
}
