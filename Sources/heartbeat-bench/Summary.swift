// The one summary a run prints: ordered fields, rendered as a JSON object or as aligned text.
import Histogram

/// A JSON value as the summary needs them: numbers, strings and nested objects.
enum SummaryValue {
    case integer(Int64)
    case number(Double)
    case text(String)
    case object(Summary)
}

/// Fields in the order they were added, so the output reads the same every run.
struct Summary {
    private(set) var fields: [(String, SummaryValue)] = []

    mutating func set(_ key: String, _ value: Int) { fields.append((key, .integer(Int64(value)))) }
    mutating func set(_ key: String, _ value: UInt64) { fields.append((key, .integer(Int64(clamping: value)))) }
    mutating func set(_ key: String, _ value: Double) { fields.append((key, .number(value))) }
    mutating func set(_ key: String, _ value: String) { fields.append((key, .text(value))) }
    mutating func set(_ key: String, _ value: Summary) { fields.append((key, .object(value))) }

    /// p50, p99, p999 and max of a histogram, in its unit.
    static func percentiles(_ histogram: Histogram<UInt64>) -> Summary {
        var summary = Summary()
        summary.set("count", histogram.totalCount)
        summary.set("p50", histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(50))
        summary.set("p99", histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(99))
        summary.set("p999", histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(99.9))
        summary.set("max", histogram.totalCount == 0 ? 0 : histogram.max)
        return summary
    }

    var json: String {
        "{" + fields.map { "\"\($0.0)\":" + Self.json($0.1) }.joined(separator: ",") + "}"
    }

    /// `key: value` lines, nested objects indented.
    func text(indent: String = "") -> String {
        fields.map { key, value in
            switch value {
            case .object(let nested): "\(indent)\(key):\n" + nested.text(indent: indent + "  ")
            default: "\(indent)\(key): \(Self.json(value))\n"
            }
        }.joined()
    }

    private static func json(_ value: SummaryValue) -> String {
        switch value {
        case .integer(let number): "\(number)"
        case .number(let number): number.isFinite ? "\((number * 1000).rounded() / 1000)" : "null"
        case .text(let text): "\"" + escaped(text) + "\""
        case .object(let nested): nested.json
        }
    }

    private static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += "?"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
