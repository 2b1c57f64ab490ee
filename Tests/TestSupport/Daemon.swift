// The one harness for the real heartbeatd: start it with a config and arguments, learn its port from
// its log, read and wait for log lines, signal it, and stop it. Every test target that needs the
// binary uses this.
import Foundation
import Glibc

/// A running heartbeatd with its stderr collected line by line.
public final class Daemon: @unchecked Sendable {
    // @unchecked: `collected` and `partial` are guarded by `lock`; the rest is set once in init.
    public let process = ChildProcess()
    public let configPath: String?
    public private(set) var port: UInt16 = 0
    /// The first TLS listener's port ([tls] listen), 0 without one.
    public private(set) var tlsPort: UInt16 = 0
    private let lock = NSLock()
    private var collected: [String] = []
    private var partial = Data()

    /// Starts heartbeatd with `config` (TOML text, written to a file) and extra `arguments`
    /// (default `--listen 127.0.0.1:0`), and waits until it has logged where it listens.
    /// `launcher` runs first with heartbeatd and its arguments after it (`systemd-socket-activate -l …`,
    /// `prlimit --nofile=…`). `environment` is added to the child's environment only. `passing` becomes
    /// the child's descriptors 3, 4, … (a fake systemd's LISTEN_FDS).
    public init(
        config: String? = nil, arguments: [String]? = nil, environment: [String: String] = [:],
        launcher: [String] = [], passing: [Int32] = [], waitForStart: Bool = true, binary: String = heartbeatdBinary()
    ) async throws {
        var args: [String] = []
        if let config {
            let path = temporaryDirectory().appendingPathComponent("heartbeatd.toml").path
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            configPath = path
            args += ["--config", path]
        } else {
            configPath = nil
        }
        args += arguments ?? ["--listen", "127.0.0.1:0"]
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [binary] + args
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = args
        }
        var env = ProcessInfo.processInfo.environment
        for key in systemdVariables { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.passing = passing
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                self?.append(data)
            }
        }
        try process.run()
        if waitForStart { try await waitUntilStarted() }
    }

    deinit { stop() }

    /// Waits for the "started: listening on" line and takes the port from it.
    public func waitUntilStarted(within seconds: Double = 10) async throws {
        guard let line = await waitForLog("started: listening on", within: seconds) else {
            stop()
            throw TestFailure.message("heartbeatd did not start:\n\(lines.joined(separator: "\n"))")
        }
        if let range = line.range(of: #":(\d+)( with|,)"#, options: .regularExpression) {
            port = UInt16(line[range].dropFirst().prefix { $0.isNumber })!
        }
        if let range = line.range(of: #"tls://[^ ,]*:\d+"#, options: .regularExpression) {
            tlsPort = UInt16(line[range].split(separator: ":").last!)!
        }
    }

    private func append(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        partial.append(data)
        while let newline = partial.firstIndex(of: 0x0A) {
            collected.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
            partial.removeSubrange(partial.startIndex...newline)
        }
    }

    public var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// The whole log so far, one line after another.
    public var log: String { lines.joined(separator: "\n") }

    public var pid: Int32 { process.processIdentifier }

    /// The log lines containing every one of `fragments`.
    public func lines(containing fragments: String...) -> [String] {
        lines.filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    /// Waits for a log line containing every one of `fragments`.
    @discardableResult
    public func waitForLog(_ fragments: String..., within seconds: Double = 5) async -> String? {
        var found: String?
        _ = await eventually(within: seconds) {
            found = lines.first { line in fragments.allSatisfy { line.contains($0) } }
            return found != nil
        }
        return found
    }

    /// The session line (`online`, `offline`, …) for the connection `client` holds.
    public func sessionLine(_ event: String, of client: Client, within seconds: Double = 5) async -> String? {
        let peer = "\(client.localHost):\(client.localPort)"
        var found: String?
        _ = await eventually(within: seconds) {
            found = lines.first { field("event", in: $0) == event && field("peer", in: $0) == peer }
            return found != nil
        }
        return found
    }

    /// How many session lines of `event` (with `reason`, when given) the daemon wrote, counting the
    /// ones its rate limit held back and reported in a "session lines held back" summary.
    public func sessionCount(_ event: String, reason: String? = nil) -> Int {
        let kind = reason.map { "\(event) (\($0))" } ?? event
        var count = 0
        for line in lines {
            if field("event", in: line) == event, reason == nil || field("reason", in: line) == reason {
                count += 1
            } else if line.contains("session lines held back"),
                let detail = line.split(separator: ": ", maxSplits: 1).last
            {
                // "… held back in the last second: offline (eof) 250, online 12 event=overload …"
                for entry in detail.split(separator: ", ") {
                    let text = entry.split(separator: " event=").first.map(String.init) ?? String(entry)
                    guard let space = text.lastIndex(of: " ") else { continue }
                    if text[..<space] == kind,
                        let number = Int(text[text.index(after: space)...].prefix { $0.isNumber })
                    {
                        count += number
                    }
                }
            }
        }
        return count
    }

    /// Replaces the config file's text (for a reload).
    public func rewriteConfig(_ text: String) throws {
        guard let path = configPath else { throw TestFailure.message("the daemon was started without a config file") }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    public var isRunning: Bool { process.isRunning }

    /// Waits for the process to exit; nil if it is still running after `seconds`.
    public func waitForExit(within seconds: Double = 10) async -> Int32? {
        guard await eventually(within: seconds, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
