// [events]: how presence events (online, offline, replaced) are told. offline_grace holds an
// `offline` back and drops it if the same id comes back in time, like MQTT's will-delay, so a
// flapping link does not page anyone.

extension Config {
    public struct Events: Sendable, Equatable {
        /// 0s (tell at once) to 1h.
        public var offlineGrace: Duration

        public static let defaults = Events(offlineGrace: .zero)
    }
}

extension Config.Events {
    init(reading table: inout TableReader) throws(ConfigError) {
        offlineGrace = try table.duration("offline_grace", in: .zero ... .seconds(3600)) ?? Self.defaults.offlineGrace
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("events")
        writer.set("offline_grace", offlineGrace)
    }
}
