// Glob as tables: each element kind, backtracking over `*`, whole-id matching, and bad patterns.
import ControlProtocol
import Testing

@Suite struct GlobTests {
    @Test(arguments: [
        ("dev-1", "dev-1", true),
        ("dev-1", "dev-12", false),
        ("dev-1", "xdev-1", false),
        ("*", "anything", true),
        ("*", "", true),
        ("dev-*", "dev-", true),
        ("dev-*", "dev-17", true),
        ("dev-*", "prod-17", false),
        ("*-eu", "web-7-eu", true),
        ("*-eu", "web-7-eu-2", false),
        ("*a*b*c", "xaxbxbxc", true),
        ("*a*b*c", "xaxbxbxcx", false),
        ("a**b", "ab", true),
        ("a*b*a", "abba", true),
        ("a*b*a", "abbab", false),
        ("?", "a", true),
        ("?", "", false),
        ("??-?", "ab-c", true),
        ("??-?", "abc-d", false),
        ("[abc]1", "b1", true),
        ("[abc]1", "d1", false),
        ("[a-c]*", "cat", true),
        ("[a-c]*", "dog", false),
        ("[!a-c]*", "dog", true),
        ("[^a-c]*", "cat", false),
        ("[]a]", "]", true),
        ("[!]]", "]", false),
        ("[a-]", "-", true),
        ("[\\]]", "]", true),
        ("dev\\*", "dev*", true),
        ("dev\\*", "dev1", false),
        ("sensor.[0-9][0-9]", "sensor.42", true),
        ("sensor.[0-9][0-9]", "sensor.4x", false),
        ("*@dc1", "web:a@dc1", true),
    ])
    func matches(pattern: String, id: String, expected: Bool) throws {
        #expect(try Glob(pattern).matches(id) == expected)
    }

    @Test(arguments: [
        ("", "empty --match pattern"),
        ("dev\\", "pattern \"dev\\\\\" ends with a lone \\"),
        ("[abc", "pattern \"[abc\" has a [ without its ]"),
        ("[", "pattern \"[\" has a [ without its ]"),
        ("[z-a]", "pattern \"[z-a]\" has a backwards range z-a"),
    ])
    func refuses(pattern: String, message: String) {
        #expect(throws: ControlError.badRequest(message)) { try Glob(pattern) }
    }

    @Test func keepsItsText() throws {
        #expect(try Glob("dev-*").description == "dev-*")
    }
}
