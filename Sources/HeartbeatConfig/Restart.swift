// [restart]: what a restart or an upgrade does with the clients (docs/operations.md). Sessions are
// handed to the successor (systemd's fd store at SIGTERM, the socket itself across `heartbeatctl
// upgrade`); those that cannot be (TLS) are told `BYE restart`, spread over bye_window with jitter.

extension Config {
    public struct Restart: Sendable, Equatable {
        /// Hand sessions over at SIGTERM under systemd (the fd store keeps them only when a restart is
        /// queued; a plain stop discards them). false: SIGTERM drains with `BYE shutdown`, as before.
        public var keepSessions: Bool
        /// 0s to 10m: how long `BYE restart` is spread over.
        public var byeWindow: Duration
        /// 0 to 100: how much of each session's share of the window is random.
        public var byeJitterPercent: Int

        public static let defaults = Restart(keepSessions: true, byeWindow: .seconds(5), byeJitterPercent: 50)
    }
}

extension Config.Restart {
    init(reading table: inout TableReader) throws(ConfigError) {
        keepSessions = try table.bool("keep_sessions") ?? Self.defaults.keepSessions
        byeWindow = try table.duration("bye_window", in: .zero ... .seconds(600)) ?? Self.defaults.byeWindow
        byeJitterPercent = try table.integer("bye_jitter_percent", in: 0...100) ?? Self.defaults.byeJitterPercent
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("restart")
        writer.set("keep_sessions", keepSessions)
        writer.set("bye_window", byeWindow)
        writer.set("bye_jitter_percent", byeJitterPercent)
    }
}
