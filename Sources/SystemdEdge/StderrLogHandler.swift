// Plain log lines on stderr, each opened by its sd-daemon(3) priority prefix, for when stderr is not
// journald's stream: a terminal, a file, a container runtime.
import Logging
import Posix

/// `<6>client online client.id=dev-1 peer=127.0.0.1:5000`: the priority, the message, then the metadata
/// sorted by key. A value is quoted when it is empty or holds a space, `"`, `\`, `=` or a control
/// character; inside quotes `"` and `\` are escaped. Newlines become `\n`, in the message too, so one
/// entry is always one line (journald would give a continuation line the default priority).
/// Each entry is one write(2), so lines from different threads do not interleave.
public struct StderrLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let descriptor: Int32

    public init(label: String) {
        self.init(label: label, metadataProvider: LoggingSystem.metadataProvider)
    }

    public init(label: String, metadataProvider: Logger.MetadataProvider?) {
        self.init(label: label, metadataProvider: metadataProvider, descriptor: 2)
    }

    /// Writes to `descriptor` instead of stderr, so tests can read the lines from a pipe.
    init(label: String, metadataProvider: Logger.MetadataProvider? = nil, descriptor: Int32) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.descriptor = descriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.line(for: LogRecord(event: event, handlerMetadata: metadata, provider: metadataProvider))
        line.withUTF8 { bytes in
            // A failed write to stderr has nowhere left to be reported.
            _ = try? writeAll(UnsafeRawBufferPointer(bytes), to: descriptor)
        }
    }

    static func line(for record: LogRecord) -> String {
        var line = "<\(record.priority)>" + escaped(record.message, insideQuotes: false)
        for (key, value) in record.sortedMetadata {
            line += " \(key)=\(formatted(value.description))"
        }
        line += "\n"
        return line
    }

    private static func formatted(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "=" || isControl($0)
            }
        return needsQuotes ? "\"" + escaped(value, insideQuotes: true) + "\"" : value
    }

    private static func escaped(_ text: String, insideQuotes: Bool) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\"" where insideQuotes: result += "\\\""
            case "\\" where insideQuotes: result += "\\\\"
            case _ where isControl(scalar): result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7f
    }
}
