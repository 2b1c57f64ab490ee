// The inputs toml++ would abort on (an assertion, not an error) are refused with the line and column before
// TOMLKit sees them; every header and array toml++ reads correctly still parses. The inputs Fuzz/fuzz-config
// found are replayed byte for byte (invalid UTF-8 decoded as the daemon decodes it).
import HeartbeatConfig
import Testing

@Suite struct TOMLPrecheckTests {
    static let fuzzerFound: [UInt8] =
        Array("# nothing\n\n[heartbeat]\n[".utf8) + [UInt8](repeating: 0xFF, count: 23)
        + Array("limits]\n[tcp]\n[log]\n[control]\n[events]\n[metrics]\n[auth]\n".utf8)

    static let fuzzerFoundInArray: [UInt8] =
        Array("listen = [\"0.0.0.0".utf8) + [UInt8](repeating: 0xC3, count: 37) + Array("node".utf8)
        + [UInt8](repeating: 0xC3, count: 17)
        + Array(":7720\",} \"[::]:7700\"]\nworkers = \"auto\"\ndrain_timeout = \"29s\"\n".utf8)

    /// The fuzzer's input is refused first for its characters outside ASCII; with them gone, for its `}`.
    @Test func theFuzzersArrayIsAnErrorNotAnAbort() {
        let text = String(decoding: Self.fuzzerFoundInArray, as: UTF8.self)
        #expect(
            parseError(text)?.description
                == "invalid TOML at line 1, column 19: a character outside ASCII is allowed only in a comment")
        let ascii = String(decoding: Self.fuzzerFoundInArray.filter { $0 < 0x80 }, as: UTF8.self)
        #expect(
            parseError(ascii)?.description
                == "invalid TOML at line 1, column 30: an array element cannot start with '}'")
    }

    @Test(arguments: [
        ("a = [}", 1, 6), ("listen = [\"a\",\n  # x\n  }", 3, 3), ("a = [[1], }", 1, 11), ("a = [{b = 1},\r\n}", 2, 1),
    ])
    func arrayElementStartingWithABraceIsRefused(text: String, line: Int, column: Int) {
        #expect(
            parseError(text)?.message
                == "invalid TOML at line \(line), column \(column): an array element cannot start with '}'")
    }

    /// toml++ asks whether such a character is Unicode whitespace, and for U+00A1...U+03F9 that reaches
    /// __builtin_unreachable (UBSan: "execution reached an unreachable program point").
    @Test(arguments: [
        ("listen = [\n  é]", 2, 3), ("a = ¡", 1, 5), ("[heartbeat.é]", 1, 12), ("é = 1", 1, 1), ("a = 1 ϩ", 1, 7),
    ])
    func characterOutsideASCIIOutsideAStringIsRefused(text: String, line: Int, column: Int) {
        #expect(
            parseError(text)?.message
                == "invalid TOML at line \(line), column \(column): a character outside ASCII is allowed only in a comment"
        )
    }

    /// Where toml++ reads a bare value, a quote opens no string (`0".0é`, `=6["0c.0é`: found by the fuzzer with
    /// UBSan), so a character outside ASCII is refused in strings too.
    @Test func aCharacterOutsideASCIIIsRefusedInStringsToo() {
        let bytes: [UInt8] =
            Array("lis-en = [0\".0".utf8) + [0xCF, 0xCF, 0xD1, 0x96, 0x8C, 0xFF, 0xC8, 0xCF, 0xDD] + Array("]".utf8)
        #expect(
            parseError(String(decoding: bytes, as: UTF8.self))?.message
                == "invalid TOML at line 1, column 15: a character outside ASCII is allowed only in a comment")
        let second: [UInt8] =
            Array("listen =6[".utf8) + [0x22] + Array("0c.0".utf8) + [
                0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3,
                0xC3, 0xA0, 0xA0, 0xA0, 0xA0, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
                0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0xA0, 0xA0,
                0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3,
                0xC3, 0xC3, 0xC3, 0xC3, 0xC3, 0xA0, 0xA0, 0xA0, 0xA0,
            ] + Array("`".utf8) + [
                0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0xC3, 0xC3, 0x83, 0xC3, 0xC3, 0xC3, 0xC3,
                0xC3,
            ] + Array(":3860".utf8) + [0x22] + Array(", ".utf8) + [0x22] + Array("[::]:7700".utf8) + [0x22]
            + Array("]".utf8) + [0x0A] + Array("workers = ".utf8) + [0x22] + Array("auto".utf8) + [0x22, 0x0A]
            + Array("drain_timeout = ".utf8) + [0x22] + Array("15s".utf8) + [0x22, 0x0A]
        #expect(
            parseError(String(decoding: second, as: UTF8.self))?.message
                == "invalid TOML at line 1, column 16: a character outside ASCII is allowed only in a comment")
        #expect(parseError("a = 0\"é\"")?.message.hasSuffix("is allowed only in a comment") == true)
        #expect(parseError("[control]\nsocket = \"/run/é\"")?.message.hasSuffix("only in a comment") == true)
    }

    @Test func theFuzzersHeaderIsAnErrorNotAnAbort() {
        let text = String(decoding: Self.fuzzerFound, as: UTF8.self)
        #expect(
            parseError(text)?.description
                == "invalid TOML at line 4, column 2: a table header must start with a key "
                + "(a letter, digit, _ or -, or a quoted key)")
    }

    @Test(arguments: [
        ("[é]", 1, 2), ("[heartbeat]\n[ =]", 2, 3), ("[[#]]", 1, 3), ("[[ ,]]", 1, 4), ("[\n", 1, 2),
        ("\u{FEFF}[.]", 1, 2), ("a = \"[x]\"\n[ [b] ]", 2, 3), ("s = '''\n'''\n[é]", 3, 2),
    ])
    func headerWithoutAKeyIsRefused(text: String, line: Int, column: Int) {
        let error = parseError(text)
        #expect(error?.key == "")
        #expect(error?.message.hasPrefix("invalid TOML at line \(line), column \(column): a table header") == true)
    }

    @Test(arguments: [
        "[heartbeat]\n[ limits ]\n[\"tcp\"]\n['log']",
        "listen = [\n  \"127.0.0.1:1\",\n]\n[heartbeat] # [é]",
        "listen = [ # [\n\"127.0.0.1:1\"]",
        "# [é]\n[heartbeat]",
        "listen = [\"127.0.0.1:1\",\n]",
        "# é ¡ ϩ\n[log] # é\nlevel = \"info\" # ¡",
        "[log]\nlevel=\"info\"\n[metrics]\n\"listen\" = \"127.0.0.1:0\" # ϩ",
    ])
    func headersAndArraysTomlReadsStillParse(text: String) {
        #expect(parseError(text) == nil)
    }

    /// Not a header: a `[` that begins a line inside a value or a string is toml++'s to judge, and it
    /// reports an error for these rather than aborting.
    @Test(arguments: ["listen = [\n[=]\n]", "s = \"\"\"\n[=]\n\"\"\"\nx = 1", "listen = [\"a\", # \"\n[=]]"])
    func bracketsInsideValuesAreTomlsToJudge(text: String) {
        #expect(parseError(text) != nil)
    }
}
