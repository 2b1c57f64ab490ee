// sd_notify(3): tells the service manager that the daemon is ready, reloading, stopping or alive,
// and what it is doing (STATUS=, shown by `systemctl status`).
import CSystemd
import Posix

/// Talks to the service manager through sd_notify(3). A nil notifier (no NOTIFY_SOCKET) makes every call
/// a no-op at the call site: `notifier?.ready()`.
///
/// Every call is best-effort: a lost notification is not worth stopping the daemon for, and systemd
/// notices a missing `READY=1` or `WATCHDOG=1` through its own timeouts.
public struct Notifier: Sendable {
    private init() {}

    /// A notifier when the service manager passed NOTIFY_SOCKET (`Type=notify`), else nil.
    public static func fromEnvironment() -> Notifier? {
        environment("NOTIFY_SOCKET") == nil ? nil : Notifier()
    }

    /// `READY=1`, once every listener is bound. MAINPID names this process, so systemd tracks it
    /// even when a wrapper started it.
    public func ready(status: String? = nil) {
        send(lines: ["READY=1", status.map(Self.statusLine), "MAINPID=\(processID())"])
    }

    /// `STATUS=`: one line of what the daemon is doing.
    public func status(_ text: String) {
        send(lines: [Self.statusLine(text)])
    }

    /// `RELOADING=1` with the CLOCK_MONOTONIC instant the reload began (required by `Type=notify-reload`,
    /// harmless for `Type=notify`). Send `ready()` when the reload is done.
    public func reloading(monotonicMicroseconds: UInt64) {
        send(lines: ["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds)"])
    }

    /// `STOPPING=1`, as shutdown begins.
    public func stopping(status: String? = nil) {
        send(lines: ["STOPPING=1", status.map(Self.statusLine)])
    }

    /// `WATCHDOG=1`: the loop is alive. See `Watchdog.interval()` for how often.
    public func watchdog() {
        send("WATCHDOG=1")
    }

    /// Sends `assignments` as they are: newline-separated `NAME=value` lines.
    /// The corresponding C function is `sd_notify(3)`.
    public func send(_ assignments: String) {
        _ = sd_notify(0, assignments)
    }

    private func send(lines: [String?]) {
        send(lines.compactMap { $0 }.joined(separator: "\n"))
    }

    /// A newline in a status text would start a new assignment (a client id could smuggle in
    /// `WATCHDOG=1`), so the text is kept on one line.
    private static func statusLine(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
    }
}
