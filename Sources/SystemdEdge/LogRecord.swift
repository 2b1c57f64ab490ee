// What both log handlers do before writing an entry: merge metadata in swift-log's order and turn the
// level into a syslog priority.
import Logging

/// One entry, ready to be written: its priority, its message and all of its metadata.
struct LogRecord {
    var priority: Int
    var message: String
    var metadata: Logger.Metadata

    /// The handler's own metadata, then the provider's, then the call's: later keys win, as in swift-log's
    /// StreamLogHandler. An attached error becomes `error` unless the call already set that key.
    init(event: LogEvent, handlerMetadata: Logger.Metadata, provider: Logger.MetadataProvider?) {
        var metadata = handlerMetadata
        if let provided = provider?.get(), !provided.isEmpty {
            metadata.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            metadata.merge(explicit) { _, new in new }
        }
        if let error = event.error, metadata["error"] == nil {
            metadata["error"] = "\(error)"
        }
        self.priority = event.level.syslogPriority
        self.message = event.message.description
        self.metadata = metadata
    }

    init(priority: Int, message: String, metadata: Logger.Metadata) {
        self.priority = priority
        self.message = message
        self.metadata = metadata
    }

    /// The metadata ordered by key, so the same entry always reads the same.
    var sortedMetadata: [(key: String, value: Logger.MetadataValue)] {
        metadata.sorted { $0.key < $1.key }
    }
}

extension Logger.Level {
    /// The syslog(3) priority journald and the sd-daemon(3) `<N>` prefix expect. swift-log has no
    /// `alert` or `emergency`; `trace` and `debug` share 7.
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
