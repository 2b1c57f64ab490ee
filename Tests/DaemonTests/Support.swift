// DaemonTests' own support: one-shot heartbeatd runs with their output, config files, descriptor
// limits, socket states from `ss`, and the receiving end of sd_notify. The shared harness (Daemon,
// Client, eventually) is in TestSupport.
import Foundation
import Glibc
import TestSupport

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

/// An AF_UNIX datagram socket bound at `path`: what the daemon's sd_notify sends to (NotifySocket, and
/// the fake fd store of StoreRestartTests).
func datagramSocket(boundAt path: String) throws -> Int32 {
    let address = try UnixAddress(path)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestFailure.message("socket(AF_UNIX) failed: errno \(errno)") }
    guard address.withSocketAddress({ bind(fd, $0, $1) }) == 0 else {
        let error = errno
        Glibc.close(fd)
        throw TestFailure.message("bind \(path) failed: errno \(error)")
    }
    return fd
}

/// The receiving end of sd_notify: an AF_UNIX datagram socket at a temporary path, given to the
/// daemon as NOTIFY_SOCKET.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init() throws {
        path = temporaryDirectory().appendingPathComponent("notify.sock").path
        fd = try datagramSocket(boundAt: path)
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
            found = received.indices.first {
                $0 >= start && received[$0].split(separator: "\n").contains { matches(String($0)) }
            }
            return found != nil
        }
        return found
    }

    /// The value of `NAME=` in the datagram at `index`.
    func value(_ name: String, at index: Int) -> String? {
        received[index].split(separator: "\n").first { $0.hasPrefix(name + "=") }.map {
            String($0.dropFirst(name.count + 1))
        }
    }
}
