// [tcp]: the kernel's second line of defence on every socket (DESIGN.md §4). Keepalive probes and
// TCP_USER_TIMEOUT find a dead peer even when no heartbeat timer would, e.g. while data is unacked.
// Keys the file leaves out are derived from [heartbeat], and stored resolved.
import Primitives

extension Config {
    public struct TCP: Sendable, Equatable {
        /// TCP_KEEPIDLE: silence before the first probe. Default: the heartbeat timeout.
        public var keepaliveIdle: Duration
        /// TCP_KEEPINTVL: time between probes.
        public var keepaliveInterval: Duration
        /// TCP_KEEPCNT: unanswered probes before the kernel resets the connection, 1...127.
        public var keepaliveCount: Int
        /// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged; 0 leaves the kernel's default.
        /// Default: keepaliveIdle + keepaliveInterval × keepaliveCount, when keepalive would give up.
        public var userTimeout: Duration

        public static let defaults = TCP(heartbeat: .defaults)
    }
}

extension Config.TCP {
    /// The kernel takes TCP_KEEPIDLE and TCP_KEEPINTVL in whole seconds, at most 32767.
    private static let keepaliveRange = Duration.seconds(1) ... .seconds(32767)
    private static let userTimeoutRange = Duration.zero ... .seconds(24 * 3600)

    /// Fills in what is nil from `heartbeat`; a derived value is moved into the range the kernel takes.
    init(
        heartbeat: Config.Heartbeat, idle: Duration? = nil, interval: Duration? = nil,
        count: Int? = nil, userTimeout: Duration? = nil
    ) {
        let idle = idle ?? wholeSeconds(heartbeat.timeout).clamped(to: Self.keepaliveRange)
        let interval = interval ?? .seconds(5)
        let count = count ?? 3
        self.init(
            keepaliveIdle: idle,
            keepaliveInterval: interval,
            keepaliveCount: count,
            userTimeout: userTimeout ?? (idle + interval * count).clamped(to: Self.userTimeoutRange)
        )
    }

    init(reading table: inout TableReader, heartbeat: Config.Heartbeat) throws(ConfigError) {
        self.init(
            heartbeat: heartbeat,
            idle: try Self.keepaliveDuration("keepalive_idle", in: &table),
            interval: try Self.keepaliveDuration("keepalive_interval", in: &table),
            count: try table.integer("keepalive_count", in: 1...127),
            userTimeout: try table.duration("user_timeout", in: Self.userTimeoutRange)
        )
    }

    private static func keepaliveDuration(
        _ key: String, in table: inout TableReader
    ) throws(ConfigError) -> Duration? {
        guard let duration = try table.duration(key, in: keepaliveRange) else { return nil }
        if wholeSeconds(duration) != duration {
            throw table.error(
                key, "expected whole seconds (the kernel counts in seconds), got \(tomlQuoted(durationText(duration)))")
        }
        return duration
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("tcp")
        writer.set("keepalive_idle", keepaliveIdle)
        writer.set("keepalive_interval", keepaliveInterval)
        writer.set("keepalive_count", keepaliveCount)
        writer.set("user_timeout", userTimeout)
    }
}

/// Rounded up: a probe a little late is harmless, one before the heartbeat timeout is not.
private func wholeSeconds(_ duration: Duration) -> Duration {
    let (seconds, attoseconds) = duration.components
    return .seconds(attoseconds > 0 ? seconds + 1 : seconds)
}

extension Duration {
    fileprivate func clamped(to range: ClosedRange<Duration>) -> Duration {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}
