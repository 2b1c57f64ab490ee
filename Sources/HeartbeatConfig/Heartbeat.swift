// [heartbeat]: which intervals clients may promise, how much silence is tolerated, and the timer
// wheel's tick. A client's timeout is its interval × timeout_factor (DESIGN.md §1).
import Primitives

extension Config {
    public struct Heartbeat: Sendable, Equatable {
        /// The interval a client gets when its HELLO proposes none.
        public var interval: Duration
        /// A proposed interval is clamped to intervalMin...intervalMax.
        public var intervalMin: Duration
        public var intervalMax: Duration
        /// 1...100: how many intervals of silence make a timeout.
        public var timeoutFactor: Int
        /// How long a new connection may take to send HELLO.
        public var helloTimeout: Duration
        /// The timer wheel's resolution: a session is reaped at most one tick after its deadline.
        public var tick: Duration
        /// Whether PING is answered with PONG.
        public var pong: Bool

        /// The timeout at the default interval.
        public var timeout: Duration { interval * timeoutFactor }

        public static let defaults = Heartbeat(
            interval: .seconds(10), intervalMin: .seconds(1), intervalMax: .seconds(300),
            timeoutFactor: 3, helloTimeout: .seconds(5), tick: .milliseconds(100), pong: true
        )
    }
}

extension Config.Heartbeat {
    private static let longest = Duration.seconds(24 * 3600)

    init(reading table: inout TableReader) throws(ConfigError) {
        let defaults = Self.defaults
        let positive = Duration.milliseconds(1)...Self.longest
        interval = try table.duration("interval", in: positive) ?? defaults.interval
        intervalMin = try table.duration("interval_min", in: positive) ?? defaults.intervalMin
        intervalMax = try table.duration("interval_max", in: positive) ?? defaults.intervalMax
        timeoutFactor = try table.integer("timeout_factor", in: 1...100) ?? defaults.timeoutFactor
        helloTimeout =
            try table.duration("hello_timeout", in: .milliseconds(100) ... .seconds(3600))
            ?? defaults.helloTimeout
        tick = try table.duration("tick", in: .milliseconds(1) ... .seconds(1)) ?? defaults.tick
        pong = try table.bool("pong") ?? defaults.pong

        // A deadline finer than the tick cannot be kept, and interval must lie inside its own clamp.
        func got(_ duration: Duration) -> String { "got \(tomlQuoted(durationText(duration)))" }
        if intervalMin < tick {
            throw table.error("interval_min", "must be at least tick (\(durationText(tick))), \(got(intervalMin))")
        }
        if intervalMax < intervalMin {
            throw table.error(
                "interval_max", "must be at least interval_min (\(durationText(intervalMin))), \(got(intervalMax))")
        }
        if !(intervalMin...intervalMax).contains(interval) {
            throw table.error(
                "interval",
                "must be from interval_min (\(durationText(intervalMin))) "
                    + "to interval_max (\(durationText(intervalMax))), \(got(interval))")
        }
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("heartbeat")
        writer.set("interval", interval)
        writer.set("interval_min", intervalMin)
        writer.set("interval_max", intervalMax)
        writer.set("timeout_factor", timeoutFactor)
        writer.set("hello_timeout", helloTimeout)
        writer.set("tick", tick)
        writer.set("pong", pong)
    }
}
