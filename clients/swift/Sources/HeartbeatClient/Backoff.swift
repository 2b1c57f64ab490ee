// How long a client waits before it reconnects: full-jitter exponential backoff, as a pure function
// of the attempt number and one random fraction, so that its bounds are testable without a clock.

/// Full-jitter exponential backoff: before retry number `attempt` (0 for the first retry) a client
/// sleeps a uniformly random time in `[0, min(cap, base × 2^attempt)]`.
///
/// The jitter is the point: after a server restart, thousands of clients that lost their connection
/// at the same instant spread their reconnects over the whole window instead of arriving together.
/// The ceiling doubles per failed attempt until it reaches `cap`; the attempt count is reset by the
/// client only after a connection has stayed up for a while (`Configuration.resetBackoffAfter`),
/// so a server that accepts and then drops at once still sees the doubling.
///
///     base 1 s, cap 60 s:  attempt   0      1      2      3      4       5       6 and later
///                          ceiling   1 s    2 s    4 s    8 s    16 s    32 s    60 s
extension HeartbeatClient {
    /// (nested: `HeartbeatClient.Backoff`)
    public struct Backoff: Sendable, Equatable {
        public var base: Duration
        public var cap: Duration

        /// `0 < base <= cap`; `HeartbeatClient` refuses a configuration that breaks this.
        public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
            self.base = base
            self.cap = cap
        }

        /// The upper bound of the sleep before retry `attempt`: `min(cap, base × 2^attempt)`.
        public func ceiling(attempt: Int) -> Duration {
            var ceiling = base
            var doubled = 0
            while doubled < attempt && ceiling < cap {
                ceiling *= 2
                doubled += 1
            }
            return min(ceiling, cap)
        }

        /// The sleep before retry `attempt`, for a random `fraction` in `[0, 1]`: `fraction × ceiling`.
        /// A fraction outside that range (or NaN) is clamped into it, so a bad random source can neither
        /// exceed the ceiling nor produce a negative sleep.
        public func delay(attempt: Int, fraction: Double) -> Duration {
            let fraction = fraction.isNaN ? 0 : Swift.min(Swift.max(fraction, 0), 1)
            return Swift.min(ceiling(attempt: attempt) * fraction, ceiling(attempt: attempt))
        }
    }
}
