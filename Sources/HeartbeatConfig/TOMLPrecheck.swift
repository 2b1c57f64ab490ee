// A look at a config file before TOMLKit parses it, for the malformed inputs on which toml++ (inside TOMLKit)
// fails an assertion, so the process aborts, or reaches undefined behaviour, instead of reporting an error.
// Fuzz/fuzz-config and the UBSan run (scripts/sanitize.sh) found them:
//   - a table header whose key starts with a character no key starts with: `[=]`, `[[#]]`, `[` + newline;
//   - an array element that starts with `}`: `["a", }`, `[}`;
//   - a character outside ASCII anywhere but in a comment (`[é]`, `a = [ é ]`, `a = 0"é"`); see outsideASCII.
// A reload must never end the daemon, so these are refused here with the line and column, as toml++'s own
// errors are. Each is a toml++ bug (TOML_ASSERT_ASSUME or TOML_UNREACHABLE on input).

enum TOMLPrecheck {
    /// Throws for the first table header whose key begins with anything but a bare-key character (A-Z a-z
    /// 0-9 _ -), a quote or `]` (toml++ reports an empty header itself), for the first array element that
    /// begins with `}`, and for the first byte outside ASCII that is not in a comment. The text is read the
    /// way toml++ reads it: a header is a `[` that begins a line outside strings, comments and the brackets
    /// of a value. O(bytes). Besides text outside ASCII in strings (valid TOML, refused on purpose: see
    /// `outsideASCII`), a wrong guess here refuses only what toml++ refuses too, or leaves it to toml++.
    static func check(_ text: String) throws(ConfigError) {
        let bytes = Array(text.utf8)
        // toml++ skips a UTF-8 byte order mark.
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var lineStart = index
        // The open brackets of values, `[` or `{`, innermost last.
        var brackets: [UInt8] = []
        var isLineStart = true
        var isHeader = false
        // Right after an array's `[` or a `,` in one: spaces, line breaks and comments keep it so.
        var isElementStart = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                lineStart = index + 1
                isLineStart = true
                isHeader = false
                index += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "#"):
                index = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                index = try endOfString(bytes, from: index, line: &line, lineStart: &lineStart)
                isLineStart = false
                isElementStart = false
                continue
            case UInt8(ascii: "}") where isElementStart:
                throw error(
                    line: line, column: column(bytes, lineStart, index), "an array element cannot start with '}'")
            case UInt8(ascii: "[") where isLineStart && brackets.isEmpty:
                isHeader = true
                var key = index + 1
                if key < bytes.count, bytes[key] == UInt8(ascii: "[") { key += 1 }
                while key < bytes.count, bytes[key] == UInt8(ascii: " ") || bytes[key] == UInt8(ascii: "\t") {
                    key += 1
                }
                if key < bytes.count, !startsKey(bytes[key]) {
                    throw error(
                        line: line, column: column(bytes, lineStart, key),
                        "a table header must start with a key (a letter, digit, _ or -, or a quoted key)")
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if !isHeader {
                    brackets.append(byte)
                    isLineStart = false
                    isElementStart = byte == UInt8(ascii: "[")
                    index += 1
                    continue
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if !isHeader { _ = brackets.popLast() }
            case UInt8(ascii: ","):
                if brackets.last == UInt8(ascii: "[") {
                    isLineStart = false
                    isElementStart = true
                    index += 1
                    continue
                }
            case 0x80...:
                throw outsideASCII(line: line, column: column(bytes, lineStart, index))
            default:
                break
            }
            isLineStart = false
            isElementStart = false
            index += 1
        }
    }

    /// The 1-based column of `index` on the line that starts at `lineStart`, in characters as toml++ counts.
    private static func column(_ bytes: [UInt8], _ lineStart: Int, _ index: Int) -> Int {
        bytes[lineStart..<index].count { $0 & 0xC0 != 0x80 } + 1
    }

    /// toml++ asks whether a character outside ASCII is Unicode whitespace wherever it reads a bare key or value,
    /// and for U+00A1...U+03F9 that reaches __builtin_unreachable (UBSan). Where toml++ reads a bare value and
    /// where a string starts cannot be told apart without parsing as toml++ does (`0"é"` and `6["é"` are bare
    /// values to it), so such characters are allowed in comments only: every key and value heartbeatd reads
    /// is ASCII. A `#` this check takes for a comment is one to toml++ too, or inside a string, or an error.
    private static func outsideASCII(line: Int, column: Int) -> ConfigError {
        error(line: line, column: column, "a character outside ASCII is allowed only in a comment")
    }

    private static func error(line: Int, column: Int, _ what: String) -> ConfigError {
        ConfigError(key: "", message: "invalid TOML at line \(line), column \(column): \(what)")
    }

    private static func startsKey(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""),
            UInt8(ascii: "'"), UInt8(ascii: "]"):
            true
        default:
            false
        }
    }

    /// The index just past the string that opens at `start` (`"`, `'`, `"""` or `'''`); an unterminated
    /// one-line string ends at its line's end, a multi-line one at the text's. Throws for a character outside
    /// ASCII in it.
    private static func endOfString(
        _ bytes: [UInt8], from start: Int, line: inout Int, lineStart: inout Int
    ) throws(ConfigError) -> Int {
        let quote = bytes[start]
        let isBasic = quote == UInt8(ascii: "\"")
        let isMultiline = bytes[start...].starts(with: [quote, quote, quote])
        var index = start + (isMultiline ? 3 : 1)
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 { throw outsideASCII(line: line, column: column(bytes, lineStart, index)) }
            if isBasic && byte == UInt8(ascii: "\\") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = index + 2
                }
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\n") {
                guard isMultiline else { return index }
                line += 1
                lineStart = index + 1
            }
            if byte == quote {
                guard isMultiline else { return index + 1 }
                if bytes[index...].starts(with: [quote, quote, quote]) {
                    // Up to two more quotes belong to the content: `""""x"""""` is legal.
                    var end = index + 3
                    while end < bytes.count, end < index + 5, bytes[end] == quote { end += 1 }
                    return end
                }
            }
            index += 1
        }
        return bytes.count
    }
}
