import Foundation
import Glibc
// Test support for the control socket: a per-test socket path and config, heartbeatctl runs (as root
// or, through setpriv, as another user), a raw connection to the socket, and a watcher that records
// presence events as they arrive.
import TestSupport
import Testing

/// The heartbeatctl binary SwiftPM built next to heartbeatd.
func heartbeatctlBinary() -> String {
    URL(fileURLWithPath: heartbeatdBinary()).deletingLastPathComponent().appendingPathComponent("heartbeatctl").path
}

/// Whether the tests run as root (setpriv to another user, chown of the socket to a group).
let isRoot = getuid() == 0

/// A fresh directory (mode 0755, so another user can reach a socket in it) and the config that puts
/// the control socket there.
struct ControlPlace {
    let directory: URL

    init() {
        directory = temporaryDirectory()
        chmod(directory.path, 0o755)
    }

    var socket: String { directory.appendingPathComponent("control.sock").path }

    /// `more` (other sections) then `[control]` with this socket and `group`.
    func config(_ more: String = "", group: String = "") -> String {
        "\(more)\n[control]\nsocket = \"\(socket)\"\ngroup = \"\(group)\"\n"
    }
}

/// How one heartbeatctl run ended and what it printed.
struct CtlRun {
    var status: Int32
    var output: String
    var error: String

    var lines: [String] { output.split(separator: "\n").map(String.init) }
}

/// A heartbeatctl process; `stdout` and `stderr` go to files, so a long `watch` never blocks on a pipe.
final class CtlProcess: @unchecked Sendable {
    // @unchecked: set once in init; ChildProcess is thread-safe for the calls made here.
    let process = ChildProcess()
    let outputPath: String
    let errorPath: String

    /// Starts `heartbeatctl arguments`, after `launcher` (e.g. setpriv …) when given.
    init(
        _ arguments: [String], launcher: [String] = [], environment: [String: String] = [:],
        binary: String = heartbeatctlBinary()
    ) throws {
        let directory = temporaryDirectory()
        outputPath = directory.appendingPathComponent("stdout").path
        errorPath = directory.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["CREDENTIALS_DIRECTORY"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
    }

    deinit { stop() }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var error: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    var lines: [String] { output.split(separator: "\n").map(String.init) }

    /// Waits for the exit; kills it and throws if it runs longer than `seconds`.
    func finish(within seconds: Double = 20) async throws -> CtlRun {
        if !(await eventually(within: seconds) { !process.isRunning }) {
            stop()
            throw TestFailure.message("heartbeatctl \(process.arguments) did not exit within \(seconds) s")
        }
        process.waitUntilExit()
        return CtlRun(status: process.terminationStatus, output: output, error: error)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Runs `heartbeatctl arguments` to the end.
func heartbeatctl(
    _ arguments: String..., launcher: [String] = [], environment: [String: String] = [:],
    binary: String = heartbeatctlBinary()
) async throws -> CtlRun {
    try await CtlProcess(arguments, launcher: launcher, environment: environment, binary: binary).finish()
}

/// setpriv running a command as `nobody` (uid 65534) with primary group `gid` and the supplementary
/// groups `groups` (none: --clear-groups).
func asNobody(gid: Int = 65534, groups: [Int] = []) -> [String] {
    let supplementary =
        groups.isEmpty ? ["--clear-groups"] : ["--groups=\(groups.map(String.init).joined(separator: ","))"]
    return ["/usr/bin/setpriv", "--reuid=65534", "--regid=\(gid)"] + supplementary
}

/// A copy of heartbeatctl that any user can run (the build directory may not be reachable for them).
/// install(1) copies it in a child process: a copy made here could leave its write descriptor in a
/// daemon another test forks meanwhile, and exec would then fail with ETXTBSY.
func heartbeatctlForAnyone() async throws -> String {
    let directory = temporaryDirectory()
    chmod(directory.path, 0o755)
    let path = directory.appendingPathComponent("heartbeatctl").path
    let install = ChildProcess()
    install.executableURL = URL(fileURLWithPath: "/usr/bin/install")
    install.arguments = ["-m", "0755", heartbeatctlBinary(), path]
    try install.run()
    guard await eventually(within: 20, { !install.isRunning }) else {
        throw TestFailure.message("install did not finish")
    }
    install.waitUntilExit()
    guard install.terminationStatus == 0 else { throw TestFailure.message("install heartbeatctl failed") }
    return path
}

/// A line as a JSON object (Foundation's reader: an independent check of the daemon's encoder).
func jsonObject(_ line: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    return try #require(value as? [String: Any], "not a JSON object: \(line)")
}

/// A raw connection to the control socket: lines out, lines in, with deadlines.
final class ControlSocket {
    private(set) var fd: Int32
    private var reader = LineReader()

    /// `receiveBuffer` shrinks SO_RCVBUF first (a watcher that falls behind sooner).
    init(path: String, receiveBuffer: Int32? = nil) throws {
        let address = try UnixAddress(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard address.withSocketAddress({ connect(fd, $0, $1) }) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestFailure.message("connect to \(path) failed: errno \(error)")
        }
        self.fd = fd
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next line without its "\n", or nil on EOF or timeout.
    func readLine(within seconds: Double = 5) async -> String? {
        await reader.readLine(from: fd, within: seconds)
    }

    /// The next line as a JSON object.
    func readObject(within seconds: Double = 5) async throws -> [String: Any] {
        let line = try #require(await readLine(within: seconds), "no answer from the control socket")
        return try jsonObject(line)
    }

    /// Sends `request` and reads its one-line answer.
    func ask(_ request: String) async throws -> [String: Any] {
        send(request + "\n")
        return try await readObject()
    }

    /// True once the daemon has closed the connection, after reading whatever it sent.
    func isClosedByDaemon(within seconds: Double = 5) async -> Bool {
        await reader.isClosed(fd, within: seconds)
    }

    /// Every complete line received so far.
    func takeLines() -> [String] {
        _ = reader.fill(from: fd)
        var lines: [String] = []
        while let line = reader.nextLine() { lines.append(line) }
        return lines
    }
}

/// A `watch` connection that keeps every event it has read, in order of arrival.
final class Watcher {
    let socket: ControlSocket
    private(set) var events: [[String: Any]] = []

    init(path: String) async throws {
        socket = try ControlSocket(path: path)
        let answer = try await socket.ask("watch")
        guard answer["ok"] as? Bool == true, answer["watching"] as? Bool == true else {
            throw TestFailure.message("watch was answered \(answer)")
        }
    }

    /// Reads events until one satisfies `matches`; returns it, or nil after `seconds`.
    func next(within seconds: Double = 5, where matches: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        if let found = events.first(where: matches) { return found }
        while Date() < deadline {
            guard let line = await socket.readLine(within: deadline.timeIntervalSinceNow) else { break }
            let event = try jsonObject(line)
            events.append(event)
            if matches(event) { return event }
        }
        return nil
    }

    /// The first event of `kind` for client `id`, waiting for it up to `seconds`.
    func event(_ kind: String, _ id: String, within seconds: Double = 5) async throws -> [String: Any]? {
        try await next(within: seconds) { $0["event"] as? String == kind && $0["id"] as? String == id }
    }

    /// The events read so far for `id`, as their kinds.
    func kinds(of id: String) -> [String] {
        events.filter { $0["id"] as? String == id }.compactMap { $0["event"] as? String }
    }
}

extension Daemon {
    /// The daemon's `status` answer, over a fresh connection.
    func status(at socket: String) async throws -> [String: Any] {
        try await ControlSocket(path: socket).ask("status")
    }
}
