// Test support: run the real heartbeatd binary, talk to it over loopback with plain sockets, read its
// log lines, receive its sd_notify datagrams, and poll for conditions with a deadline instead of sleeping.
import TestSupport
import Foundation
import Glibc
import TestSupport
import Testing

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
/// Async, so a test that waits does not hold one of the few threads that run tests; the condition
/// may itself await (a question to the daemon).
func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    return try await condition()
}

/// Lines arriving on a socket, read without blocking: the TCP test client and the control-socket
/// client both read through one.
struct LineReader {
    private var buffer: [UInt8] = []

    /// Reads what has arrived; nil when nothing is there yet, false once the peer closed or reset.
    mutating func fill(from fd: Int32) -> Bool? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer += chunk[..<count]
        return true
    }

    /// A complete line already received, without its "\n".
    mutating func nextLine() -> String? {
        guard let newline = buffer.firstIndex(of: 0x0A) else { return nil }
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeSubrange(...newline)
        return line
    }

    /// The next line, or nil on EOF, reset or timeout.
    mutating func readLine(from fd: Int32, within seconds: Double) async -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let line = nextLine() { return line }
            switch fill(from: fd) {
            case false?: return nil
            case true?: continue
            case nil:
                guard Date() < deadline else { return nil }
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
        }
    }

    /// True once the peer has closed within `seconds`, after reading whatever it sent.
    mutating func isClosed(_ fd: Int32, within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            switch fill(from: fd) {
            case false?: return true
            case true?: continue
            case nil:
                guard Date() < deadline else { return false }
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
        }
    }
}

enum TestFailure: Error, CustomStringConvertible {
    case message(String)
    var description: String {
        switch self { case .message(let text): text }
    }
}

/// The heartbeatd binary SwiftPM built next to this test bundle.
func heartbeatdBinary() -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("heartbeatd").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    // `swift test` runs the bundle from .build/<triple>/debug; fall back to the usual place.
    return FileManager.default.currentDirectoryPath + "/.build/debug/heartbeatd"
}

/// A temporary directory, left in /tmp for inspection after a failure.
func temporaryDirectory() -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hbtest-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The systemd variables a daemon must not inherit from whoever runs the tests.
private let systemdVariables = ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"]

/// The value of `key=value` in a log line (`<6>client offline client.id=a peer=127.0.0.1:5 reason=eof`).
func field(_ key: String, in line: String) -> String? {
    for word in line.split(separator: " ") where word.hasPrefix(key + "=") {
        return String(word.dropFirst(key.count + 1))
    }
    return nil
}

/// A running heartbeatd with its stderr collected line by line.
final class Daemon: @unchecked Sendable {
    // @unchecked: `collected` and `partial` are guarded by `lock`; the rest is set once in init.
    let process = ChildProcess()
    let configPath: String?
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var collected: [String] = []
    private var partial = Data()

    /// Starts heartbeatd with `config` (TOML text, written to a file) and extra `arguments`
    /// (default `--listen 127.0.0.1:0`), and waits until it has logged where it listens.
    /// `launcher` runs first with heartbeatd and its arguments after it (`systemd-socket-activate -l …`,
    /// `prlimit --nofile=…`). `environment` is added to the child's environment only.
    init(
        config: String? = nil, arguments: [String]? = nil, environment: [String: String] = [:],
        launcher: [String] = [], waitForStart: Bool = true
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
            process.arguments = Array(launcher.dropFirst()) + [heartbeatdBinary()] + args
        } else {
            process.executableURL = URL(fileURLWithPath: heartbeatdBinary())
            process.arguments = args
        }
        var env = ProcessInfo.processInfo.environment
        for key in systemdVariables { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
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
    func waitUntilStarted(within seconds: Double = 10) async throws {
        guard let line = await waitForLog("started: listening on", within: seconds) else {
            stop()
            throw TestFailure.message("heartbeatd did not start:\n\(lines.joined(separator: "\n"))")
        }
        if let range = line.range(of: #":(\d+)( with|,)"#, options: .regularExpression) {
            port = UInt16(line[range].dropFirst().prefix { $0.isNumber })!
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

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// The log lines containing every one of `fragments`.
    func lines(containing fragments: String...) -> [String] {
        lines.filter { line in fragments.allSatisfy { line.contains($0) } }
    }

    /// Waits for a log line containing every one of `fragments`.
    @discardableResult
    func waitForLog(_ fragments: String..., within seconds: Double = 5) async -> String? {
        var found: String?
        _ = await eventually(within: seconds) {
            found = lines.first { line in fragments.allSatisfy { line.contains($0) } }
            return found != nil
        }
        return found
    }

    /// The session line (`online`, `offline`, …) for the connection `client` holds.
    func sessionLine(_ event: String, of client: Client, within seconds: Double = 5) async -> String? {
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
    func sessionCount(_ event: String, reason: String? = nil) -> Int {
        let kind = reason.map { "\(event) (\($0))" } ?? event
        var count = 0
        for line in lines {
            if field("event", in: line) == event, reason == nil || field("reason", in: line) == reason {
                count += 1
            } else if line.contains("session lines held back"), let detail = line.split(separator: ": ", maxSplits: 1).last {
                // "… held back in the last second: offline (eof) 250, online 12 event=overload …"
                for entry in detail.split(separator: ", ") {
                    let text = entry.split(separator: " event=").first.map(String.init) ?? String(entry)
                    guard let space = text.lastIndex(of: " ") else { continue }
                    if text[..<space] == kind, let number = Int(text[text.index(after: space)...].prefix { $0.isNumber }) {
                        count += number
                    }
                }
            }
        }
        return count
    }

    /// Replaces the config file's text (for a reload).
    func rewriteConfig(_ text: String) throws {
        let path = try #require(configPath, "the daemon was started without a config file")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    var isRunning: Bool { process.isRunning }

    /// Waits for the process to exit; nil if it is still running after `seconds`.
    func waitForExit(within seconds: Double = 10) async -> Int32? {
        guard await eventually(within: seconds, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// How a short-lived heartbeatd run ended and what it wrote.
struct Finished {
    var status: Int32
    var standardOutput: String
    var standardError: String

    /// stderr's non-empty lines.
    var errorLines: [String] { standardError.split(separator: "\n").map(String.init) }
}

/// Runs heartbeatd with `arguments` until it exits (killing it after `seconds`) and collects its output.
/// Output goes to files, so a chatty child never blocks on a full pipe.
func runHeartbeatd(_ arguments: [String], within seconds: Double = 20) async throws -> Finished {
    let directory = temporaryDirectory()
    let outPath = directory.appendingPathComponent("stdout").path
    let errPath = directory.appendingPathComponent("stderr").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: heartbeatdBinary())
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for key in systemdVariables { env[key] = nil }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    if !(await eventually(within: seconds) { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw TestFailure.message("heartbeatd \(arguments) did not exit within \(seconds) s")
    }
    process.waitUntilExit()
    return Finished(
        status: process.terminationStatus,
        standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}

/// Writes `text` to a fresh config file and returns its path.
func configFile(_ text: String) throws -> String {
    let path = temporaryDirectory().appendingPathComponent("heartbeatd.toml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A TCP port on 127.0.0.1 nobody listens on right now (the kernel picked it; it is released again).
func freePort() throws -> UInt16 {
    let listener = try Listener()
    return listener.port
}

/// Raises this process's soft descriptor limit to its hard limit (tests that open hundreds of sockets).
func raiseDescriptorLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// This process's hard descriptor limit, which a daemon it starts inherits.
func hardDescriptorLimit() -> UInt64 {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return UInt64(limit.rlim_max)
}

private func makeAddress(_ host: String, _ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    inet_pton(AF_INET, host, &address.sin_addr)
    return address
}

private func withSockaddr<R>(_ address: sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = address
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

private func boundPort(_ fd: Int32) -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// A plain TCP listener the test holds (no SO_REUSEPORT), to make a port busy.
final class Listener {
    let fd: Int32
    let port: UInt16

    init(host: String = "127.0.0.1", port: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let bound = withSockaddr(makeAddress(host, port)) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestFailure.message("cannot listen on \(host):\(port): errno \(error)")
        }
        self.fd = fd
        self.port = boundPort(fd)
    }

    deinit { Glibc.close(fd) }
}

/// A TCP client with blocking sends (5 s timeout) and polled, deadline-bound reads of lines.
final class Client {
    private(set) var fd: Int32
    private var reader = LineReader()
    /// This end's address and port: how the daemon's log names the connection (`peer=127.0.0.1:<port>`).
    let localHost: String
    let localPort: UInt16

    /// Connects to `host:port`, from `source` when given (any 127.x address works on loopback).
    /// `receiveBuffer` shrinks SO_RCVBUF before connecting (for a client that never reads).
    init(port: UInt16, host: String = "127.0.0.1", source: String? = nil, receiveBuffer: Int32? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            guard withSockaddr(makeAddress(source, 0), { bind(fd, $0, $1) }) == 0 else {
                let error = errno
                Glibc.close(fd)
                throw TestFailure.message("bind to \(source) failed: errno \(error)")
            }
        }
        let result = withSockaddr(makeAddress(host, port)) { connect(fd, $0, $1) }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestFailure.message("connect to \(host):\(port) failed: errno \(error)")
        }
        self.fd = fd
        localHost = source ?? host
        localPort = boundPort(fd)
    }

    deinit { closeSocket() }

    /// Closes normally (FIN) unless already closed.
    func closeSocket() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends all of `text`; false if the connection refused it (closed, reset, or 5 s without room).
    @discardableResult
    func send(_ text: String) -> Bool {
        send(bytes: Array(text.utf8))
    }

    @discardableResult
    func send(bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBufferPointer {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// The next line without its "\n", or nil on EOF, reset or timeout.
    func readLine(within seconds: Double = 5) async -> String? {
        await reader.readLine(from: fd, within: seconds)
    }

    /// True once the server has closed (EOF or reset) within `seconds`, after reading whatever it sent.
    func isClosedByServer(within seconds: Double = 5) async -> Bool {
        await reader.isClosed(fd, within: seconds)
    }

    /// Sends FIN (the peer sees EOF).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with RST (SO_LINGER 0).
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        closeSocket()
    }

    /// Vanishes without sending a packet: TCP_REPAIR mode makes close() silent (needs CAP_NET_ADMIN).
    func vanish() -> Bool {
        var on: Int32 = 1
        let TCP_REPAIR: Int32 = 19
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_REPAIR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else { return false }
        closeSocket()
        return true
    }
}

/// Connects and says HELLO; returns the client once the daemon answered OK.
func identifiedClient(_ id: String, port: UInt16, interval: Int? = nil) async throws -> Client {
    let client = try Client(port: port)
    client.send("HELLO \(id)" + (interval.map { " interval=\($0)" } ?? "") + "\n")
    let reply = await client.readLine()
    guard let reply, reply.hasPrefix("OK \(id) ") else {
        throw TestFailure.message("HELLO \(id) was answered \(reply ?? "with nothing")")
    }
    return client
}

/// Counts of TCP socket states whose local port is `port` (the daemon's end), from `ss`.
func socketStates(port: UInt16) -> [String: Int] {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
    process.arguments = ["-tanH", "( sport = :\(port) )"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var counts: [String: Int] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if let state = line.split(separator: " ").first { counts[String(state), default: 0] += 1 }
    }
    return counts
}

/// The receiving end of sd_notify: an AF_UNIX datagram socket at a temporary path, given to the
/// daemon as NOTIFY_SOCKET.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init() throws {
        path = temporaryDirectory().appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw TestFailure.message("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw TestFailure.message("bind \(path) failed: errno \(errno)") }
    }

    deinit {
        Glibc.close(fd)
        unlink(path)
    }

    /// Every datagram received so far, in order.
    private(set) var received: [String] = []

    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return }
            received.append(String(decoding: chunk[..<count], as: UTF8.self))
        }
    }

    /// Waits for a datagram, after the first `after` received, with a line for which `matches` holds;
    /// returns its index in `received`.
    func waitFor(after start: Int = 0, within seconds: Double = 5, _ matches: (String) -> Bool) async -> Int? {
        var found: Int?
        _ = await eventually(within: seconds) {
            drain()
            found = received.indices.first { $0 >= start && received[$0].split(separator: "\n").contains { matches(String($0)) } }
            return found != nil
        }
        return found
    }

    /// The value of `NAME=` in the datagram at `index`.
    func value(_ name: String, at index: Int) -> String? {
        received[index].split(separator: "\n").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }
}
