// journald through sd_journal_sendv(3): one entry per log call, so `journalctl CLIENT_ID=dev-1` finds a
// client's sessions and `journalctl MESSAGE_ID=<id>` one kind of event. Every entry carries MESSAGE,
// PRIORITY (see `Logger.Level.syslogPriority`), SYSLOG_IDENTIFIER=heartbeatd and a field per metadata key:
//
//   metadata key          journal field
//   client.id             CLIENT_ID
//   peer                  PEER
//   reason                REASON
//   session.duration_ms   SESSION_DURATION_MS
//   worker                WORKER
//   seq                   SEQ
//   event                 EVENT, plus MESSAGE_ID from `MessageID` when the event has one
//   any other key         uppercased, each byte outside [A-Z0-9_] replaced by `_`, and `HB_` in front when
//                         it starts with a digit or `_` (journald keeps `_` fields for itself), is empty,
//                         or would shadow a field set here; cut to journald's limit of 64 bytes.
import CSystemd
import Logging

/// A LogHandler that writes structured entries to journald. Use it when `JournalStream.isStandardErrorJournal()`.
/// Entries journald does not take are dropped: libsystemd already drops them silently when journald's
/// socket is missing, and stderr, the other way out, leads to the same journald.
public struct JournalLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String) {
        self.init(label: label, metadataProvider: LoggingSystem.metadataProvider)
    }

    public init(label: String, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let record = LogRecord(event: event, handlerMetadata: metadata, provider: metadataProvider)
        Self.send(Self.fields(for: record))
    }

    /// The entry's fields as `NAME=value`, in a fixed order: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then
    /// the metadata sorted by key.
    static func fields(for record: LogRecord) -> [String] {
        var fields = ["MESSAGE=\(record.message)", "PRIORITY=\(record.priority)", "SYSLOG_IDENTIFIER=heartbeatd"]
        for (key, value) in record.sortedMetadata {
            let text = value.description
            fields.append(fieldName(forMetadataKey: key) + "=" + text)
            if key == "event", let id = MessageID.forEvent(text) {
                fields.append("MESSAGE_ID=\(id)")
            }
        }
        return fields
    }

    private static let ownFields: Set<String> = ["MESSAGE", "MESSAGE_ID", "PRIORITY", "SYSLOG_IDENTIFIER"]

    /// The journal field name for a metadata key, by the rule in this file's header.
    static func fieldName(forMetadataKey key: String) -> String {
        let name: [UInt8] = key.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - (UInt8(ascii: "a") - UInt8(ascii: "A"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): byte
            default: UInt8(ascii: "_")
            }
        }
        let needsPrefix =
            switch name.first {
            case nil, UInt8(ascii: "_")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?: true
            default: ownFields.contains(String(decoding: name, as: UTF8.self))
            }
        let prefixed = needsPrefix ? Array("HB_".utf8) + name : name
        return String(decoding: prefixed.prefix(64), as: UTF8.self)
    }

    /// Sends one entry: each field is one iovec into a single buffer. Values may hold newlines;
    /// sd_journal_sendv switches to journald's binary-safe encoding for those by itself.
    /// The corresponding C function is `sd_journal_sendv(3)`.
    private static func send(_ fields: [String]) {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            let vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            _ = vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
