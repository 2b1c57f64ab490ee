// Test support: run the real heartbeatd binary, talk to it over loopback with plain blocking sockets,
// and poll for conditions with a deadline instead of sleeping.
import Foundation
import Glibc
import Testing

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
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

/// A temporary directory removed by the caller (or left in /tmp for inspection after a failure).
func temporaryDirectory() -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hbtest-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A running heartbeatd with its stderr collected line by line.
final class Daemon: @unchecked Sendable {
    // @unchecked: `lines` is guarded by `lock`; the rest is set once in init.
    let process = Process()
    let configPath: String?
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var collected: [String] = []
    private var partial = Data()

    /// Starts heartbeatd with `config` (TOML text, written to a file) and extra `arguments`
    /// (default `--listen 127.0.0.1:0`), and waits until it has logged where it listens.
    init(config: String? = nil, arguments: [String]? = nil, environment: [String: String] = [:], waitForStart: Bool = true) throws {
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
        process.executableURL = URL(fileURLWithPath: heartbeatdBinary())
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.append(data)
        }
        try process.run()
        if waitForStart {
            guard eventually(within: 10, { lines.contains { $0.contains("started: listening on") } }) else {
                stop()
                throw TestFailure.message("heartbeatd did not start:\n\(lines.joined(separator: "\n"))")
            }
            let line = lines.first { $0.contains("started: listening on") }!
            if let range = line.range(of: #":(\d+)( with|,)"#, options: .regularExpression) {
                port = UInt16(line[range].dropFirst().prefix { $0.isNumber })!
            }
        }
    }

    deinit { stop() }

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

    /// Waits for a log line containing every one of `fragments`.
    @discardableResult
    func waitForLog(_ fragments: String..., within seconds: Double = 5) -> String? {
        var found: String?
        _ = eventually(within: seconds) {
            found = lines.first { line in fragments.allSatisfy { line.contains($0) } }
            return found != nil
        }
        return found
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; nil if it is still running after `seconds`.
    func waitForExit(within seconds: Double = 10) -> Int32? {
        guard eventually(within: seconds, { !process.isRunning }) else { return nil }
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

/// A blocking TCP client with a receive timeout, reading lines.
final class Client {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw TestFailure.message("connect to \(host):\(port) failed: errno \(error)")
        }
    }

    deinit { closeSocket() }

    /// Closes normally (FIN) unless already closed.
    func closeSocket() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    func send(bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next line without its "\n", or nil on EOF/reset/timeout.
    func readLine(within seconds: Double = 5) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(remaining * 1000) + 1) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }

    /// True once the server has closed (EOF or reset) within `seconds`, after reading whatever it sent.
    func isClosedByServer(within seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while deadline.timeIntervalSinceNow > 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(deadline.timeIntervalSinceNow * 1000) + 1) > 0 else { return false }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { return true }
            buffer += chunk[..<count]
        }
        return false
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

/// Counts of TCP socket states on `port` (either end), from `ss`.
func socketStates(port: UInt16) -> [String: Int] {
    let process = Process()
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
