// The one error type of HeartbeatConfig: which key is wrong and why, in words an operator can act on.
// heartbeatd prints `description` and exits 1 before binding anything (DESIGN.md §8).

public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted key: "heartbeat.interval", "limits.max_line", "listen[1]" (counted from 0),
    /// or "" when the file is not valid TOML at all.
    public var key: String
    /// What is wrong, with the value that was found and what would be right, e.g.
    /// `expected a duration with a unit (ms, s, m, h) such as "10s", got 10`.
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    /// One line that names the key: `heartbeat.interval: expected a duration ...`.
    public var description: String {
        key.isEmpty ? message : "\(key): \(message)"
    }
}
