// What the SystemdEdge tests share: one serialized suite for everything that touches process-wide state
// (environment variables, child processes that inherit them), and the Glibc plumbing the tests need.
import Foundation
import Glibc
import TestSupport
import Testing

/// The parent of every suite that sets environment variables or starts processes. setenv(3) is not safe
/// while another thread reads the environment, so these suites never run at the same time.
@Suite(.serialized) enum ProcessWide {}

/// Runs `body` with the variables set (a nil value unsets one), then puts back what was there.
func withEnvironment<R>(_ variables: [String: String?], _ body: () throws -> R) rethrows -> R {
    func set(_ name: String, _ value: String?) {
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    var saved: [String: String?] = [:]
    for (name, value) in variables {
        saved.updateValue(getenv(name).map { String(cString: $0) }, forKey: name)
        set(name, value)
    }
    defer { for (name, value) in saved { set(name, value) } }
    return try body()
}

/// A fresh directory under /tmp named after `purpose`; the caller removes it with `removeTree`.
func makeTemporaryDirectory(_ purpose: String) throws -> String {
    var template = Array("/tmp/sdedge-\(purpose)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in
        mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
    }
    return try #require(made, "mkdtemp failed: errno \(errno)")
}

/// Removes `path` and everything under it.
func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// How a child process ended and what it wrote.
struct Finished {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs `arguments` to the end; see `Child`.
func run(_ arguments: [String], timeoutSeconds: Int = 60) throws -> Finished {
    try Child(arguments, timeoutSeconds: timeoutSeconds).wait()
}

/// A process started from `arguments` (looked up in PATH) with this process's environment. Its output
/// goes to files, not pipes, so a chatty child never blocks on a pipe nobody reads; `timeout` ends a hung one.
final class Child {
    private let pid: pid_t
    private let directory: String
    private var isReaped = false

    init(_ arguments: [String], timeoutSeconds: Int = 60) throws {
        directory = try makeTemporaryDirectory("child")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, directory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let argv = (["timeout", "--kill-after=5", "\(timeoutSeconds)"] + arguments).map { strdup($0) }
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "timeout", &actions, nil, argv + [nil], environ)
        if spawned != 0 { removeTree(directory) }
        try #require(spawned == 0, "posix_spawnp \(arguments[0]) failed: errno \(spawned)")
        self.pid = pid
    }

    deinit {
        if !isReaped {
            // `timeout` leads a process group of its own: kill the command with it, or the command lives on
            // (systemd-socket-activate --accept outlived its test that way).
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        removeTree(directory)
    }

    /// What the child wrote to stdout so far.
    func standardOutput() throws -> String { try contents(of: directory + "/stdout") }

    /// Asks the child to stop; `timeout` passes SIGTERM on to the command.
    func terminate() { kill(pid, SIGTERM) }

    /// Waits for the child to end; a death by signal N is status 128 + N, as in the shell.
    func wait() throws -> Finished {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            try #require(errno == EINTR, "waitpid failed: errno \(errno)")
        }
        isReaped = true
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Finished(
            status: exitStatus,
            standardOutput: try standardOutput(),
            standardError: try contents(of: directory + "/stderr")
        )
    }
}

/// A stream connection to the unix socket at `path`, retried until something listens there.
func connectWhenListening(to path: String) throws -> Int32 {
    let address = try UnixAddress(path)
    var connected: Int32 = -1
    let succeeded = try eventuallyBlocking(within: 10) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket failed: errno \(errno)")
        let result = address.withSocketAddress { connect(fd, $0, $1) }
        if result == 0 {
            connected = fd
            return true
        }
        close(fd)
        return false
    }
    try #require(succeeded, "nothing listened on \(path)")
    return connected
}

func contents(of path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0, "open \(path) failed: errno \(errno)")
    defer { close(fd) }
    return try readToEnd(fd)
}

/// A pipe whose ends are not inherited by the processes other tests start (pipe2 is not in Swift's
/// Glibc module; the moment between pipe and fcntl is the only window).
func makePipe() throws -> (reader: Int32, writer: Int32) {
    var ends: [Int32] = [0, 0]
    try #require(pipe(&ends) == 0, "pipe failed: errno \(errno)")
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    return (ends[0], ends[1])
}

/// Reads `fd` until end of file.
func readToEnd(_ fd: Int32) throws -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        try #require(count >= 0, "read failed: errno \(errno)")
        if count == 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The systemd-edge-probe executable SwiftPM built next to this test binary.
func probePath() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    try #require(length > 0, "readlink /proc/self/exe failed: errno \(errno)")
    let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let path = String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)]) + "/systemd-edge-probe"
    try #require(access(path, X_OK) == 0, "\(path) is missing: build the systemd-edge-probe target")
    return path
}
