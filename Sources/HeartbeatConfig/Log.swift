// [log]: how much the daemon says, and whether each session's start and end get a line.

extension Config {
    public struct Log: Sendable, Equatable {
        public var level: LogLevel
        /// One line per online/offline; off for very large fleets where the journal would drown.
        public var sessions: Bool

        public static let defaults = Log(level: .info, sessions: true)
    }
}

/// The same seven levels as swift-log's Logger.Level, least severe first.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

extension Config.Log {
    init(reading table: inout TableReader) throws(ConfigError) {
        let names = LogLevel.allCases.map { tomlQuoted($0.rawValue) }.joined(separator: ", ")
        level =
            try table.read("level", expected: "one of \(names)") { $0.string.flatMap(LogLevel.init(rawValue:)) }
            ?? Self.defaults.level
        sessions = try table.bool("sessions") ?? Self.defaults.sessions
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("log")
        writer.set("level", level.rawValue)
        writer.set("sessions", sessions)
    }
}
