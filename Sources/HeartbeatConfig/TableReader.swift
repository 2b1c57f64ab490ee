// Reads one TOML table of the config file: typed look-ups that name the key when the value is wrong,
// and a record of the keys asked for, so whatever else the file holds is reported as an unknown key.
import Primitives

struct TableReader {
    /// nil for a section the file leaves out: every look-up then finds nothing and defaults apply.
    private let table: TOMLNode?
    /// The dotted name of this table ("" at the top level), put in front of every key in an error.
    private let path: String
    private var knownKeys: [String] = []

    init(_ table: TOMLNode?, path: String) {
        self.table = table
        self.path = path
    }

    /// The key as an error names it: "heartbeat.interval".
    func qualified(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(key: qualified(key), message: message)
    }

    /// The value at `key` as the file wrote it, or nil. Asking for a key is what makes it known.
    mutating func value(_ key: String) -> TOMLNode? {
        knownKeys.append(key)
        return table?[key]
    }

    /// The value at `key` converted by `convert`; a value it refuses is an error saying what was `expected`.
    mutating func read<T>(
        _ key: String, expected: String, _ convert: (TOMLNode) -> T?
    ) throws(ConfigError) -> T? {
        guard let value = value(key) else { return nil }
        guard let converted = convert(value) else {
            throw error(key, "expected \(expected), got \(shown(value))")
        }
        return converted
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        let bounds =
            range.upperBound == .max
            ? "of at least \(range.lowerBound)"
            : "from \(range.lowerBound) to \(range.upperBound)"
        return try read(key, expected: "an integer \(bounds)") { $0.int.flatMap { range.contains($0) ? $0 : nil } }
    }

    mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        try read(key, expected: "true or false") { $0.bool }
    }

    mutating func duration(_ key: String, in range: ClosedRange<Duration>) throws(ConfigError) -> Duration? {
        guard let value = value(key) else { return nil }
        guard let duration = value.string.flatMap(parseDuration) else {
            throw error(key, "expected a duration with a unit (ms, s, m, h) such as \"10s\", got \(shown(value))")
        }
        guard range.contains(duration) else {
            throw error(
                key,
                "expected a duration from \(durationText(range.lowerBound)) to "
                    + "\(durationText(range.upperBound)), got \(shown(value))")
        }
        return duration
    }

    /// Reads the [section] at `key` with `read`, then refuses any key in it that `read` did not ask for.
    /// A section the file leaves out is read as empty, so its defaults apply.
    mutating func section<T>(
        _ key: String, _ read: (inout TableReader) throws(ConfigError) -> T
    ) throws(ConfigError) -> T {
        let value = value(key)
        if let value, value.kind != .table {
            throw error(key, "expected a table [\(qualified(key))], got \(shown(value))")
        }
        var reader = TableReader(value?.table, path: qualified(key))
        let result = try read(&reader)
        try reader.refuseUnknownKeys()
        return result
    }

    /// Call once every known key has been read.
    func refuseUnknownKeys() throws(ConfigError) {
        guard let table else { return }
        for key in table.keys where !knownKeys.contains(key) {
            let place = path.isEmpty ? "at the top level" : "in [\(path)]"
            throw error(key, "unknown key (valid \(place): \(knownKeys.joined(separator: ", ")))")
        }
    }
}

/// A value as an error message shows it: 10, "10", true, an array.
func shown(_ value: TOMLNode) -> String {
    switch value.kind {
    case .string: tomlQuoted(value.string ?? "")
    case .array: "an array"
    case .table: "a table"
    default: value.literal
    }
}
