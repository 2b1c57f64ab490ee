// Builds the text of Config.rendered(): `key = value` lines under [section] headers, each value
// written the way TableReader reads it back.
import Primitives

struct TOMLWriter {
    private(set) var text = ""

    mutating func section(_ name: String) {
        text += "\n[\(name)]\n"
    }

    mutating func set(_ key: String, _ value: Int) { line(key, String(value)) }
    mutating func set(_ key: String, _ value: Bool) { line(key, String(value)) }
    mutating func set(_ key: String, _ value: String) { line(key, tomlQuoted(value)) }
    mutating func set(_ key: String, _ value: Duration) { line(key, tomlQuoted(durationText(value))) }
    mutating func set(_ key: String, _ values: [String]) {
        line(key, "[" + values.map(tomlQuoted).joined(separator: ", ") + "]")
    }

    private mutating func line(_ key: String, _ value: String) {
        text += "\(key) = \(value)\n"
    }
}

/// `text` as a TOML basic string: quoted, with backslash, quote and control characters escaped.
func tomlQuoted(_ text: String) -> String {
    var quoted = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": quoted += "\\\\"
        case "\"": quoted += "\\\""
        case "\n": quoted += "\\n"
        case "\t": quoted += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: quoted.unicodeScalars.append(scalar)
        }
    }
    return quoted + "\""
}
