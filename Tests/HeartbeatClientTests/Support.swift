// Test support for the client side: run the agent and bench binaries SwiftPM built for this target,
// a scripted fake server, and a recorder for client states. The daemon harness and the deadline poll
// are TestSupport's.
import Foundation
import Glibc
import HeartbeatClient
import Synchronization
import TestSupport

typealias State = HeartbeatClient.State
typealias Endpoint = HeartbeatClient.Endpoint

/// A value shared between test threads, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process with its stderr (and optionally stdout) collected.
final class Child: @unchecked Sendable {
    // @unchecked: the collected text is behind locks; `process` is only started and signalled.
    let process = ChildProcess()
    private let errorText = Shared("")
    private let outputText = Shared("")
    private let input: Pipe?

    /// With `takesInput`, `write(_:)` feeds the child's stdin.
    init(executable: String, arguments: [String], takesInput: Bool = false) throws {
        input = takesInput ? Pipe() : nil
        process.standardInput = input
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "JOURNAL_STREAM"] {
            environment[key] = nil
        }
        process.environment = environment
        let errorPipe = Pipe()
        let outputPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        errorPipe.fileHandleForReading.readabilityHandler = { [errorText] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            errorText.update { $0 += text }
        }
        outputPipe.fileHandleForReading.readabilityHandler = { [outputText] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            outputText.update { $0 += text }
        }
        try process.run()
    }

    deinit { kill() }

    var standardError: String { errorText.value }
    var standardOutput: String { outputText.value }
    var pid: Int32 { process.processIdentifier }

    func write(_ text: String) {
        input?.fileHandleForWriting.write(Data(text.utf8))
    }

    func signal(_ number: Int32) { Glibc.kill(process.processIdentifier, number) }

    /// Waits up to `seconds` for the process to end; its exit status, or nil if it is still running.
    func exitStatus(within seconds: Double) async -> Int32? {
        guard await eventually(within: seconds, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGCONT)
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Collects every state a client publishes, for assertions after the fact.
final class StateRecorder: Sendable {
    private let recorded = Shared<[State]>([])
    private let task: Task<Void, Never>

    init(_ client: HeartbeatClient) {
        let stream = client.states()
        let recorded = recorded
        task = Task {
            for await state in stream { recorded.update { $0.append(state) } }
        }
    }

    var states: [State] { recorded.value }

    func count(where predicate: (State) -> Bool) -> Int { states.filter(predicate).count }

    /// Every state up to and including `.stopped`: the stream delivers after `run()` has returned.
    func untilStopped(upTo seconds: Double = 20) async -> [State] {
        _ = await wait(upTo: seconds) { $0.isStopped }
        return states
    }

    /// Waits until `count` states satisfy `predicate`. The deadlines callers pass are generous (20 s): the
    /// client runs on Swift's cooperative pool, two threads here, which tests in other suites that block a
    /// thread (polling synchronously) can hold for seconds while the whole suite runs.
    func wait(upTo seconds: Double, count: Int = 1, for predicate: @escaping (State) -> Bool) async -> Bool {
        await eventually(within: seconds) { self.count(where: predicate) >= count }
    }
}

extension State {
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var isStopped: Bool { if case .stopped = self { true } else { false } }
    var disconnect: HeartbeatClient.Error? { if case .disconnected(let why) = self { why } else { nil } }
    var isWaiting: Bool { if case .waiting = self { true } else { false } }
    var isConnecting: Bool { if case .connecting = self { true } else { false } }
}

/// What the fake server does with one received line: send these lines, then maybe close.
struct Answer: Sendable {
    var lines: [String]
    var thenClose: Bool
    static func say(_ lines: String...) -> Answer { Answer(lines: lines, thenClose: false) }
    static func sayAndClose(_ lines: String...) -> Answer { Answer(lines: lines, thenClose: true) }
}

/// A TCP server on loopback that serves one connection at a time and answers each received line
/// from a script. For server behaviour the real daemon cannot be made to show on demand.
final class FakeServer: @unchecked Sendable {
    // @unchecked: `listener` is set once in init; `received` is behind a lock.
    let port: UInt16
    private let listener: Int32
    private let received = Shared<[String]>([])

    /// `answer` maps each line the client sends to what the server does.
    /// With `serves: false` nothing is accepted: with a backlog of 0, one connection fills the queue and
    /// the kernel drops later SYNs (a black hole on loopback).
    init(backlog: Int32 = 16, serves: Bool = true, answer: @escaping @Sendable (String) -> Answer) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            close(fd)
            throw SupportError("fake server cannot listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let received = received
        guard serves else { return }
        Thread.detachNewThread {
            // Serves connections one after another until the listener is closed.
            while true {
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { return }
                Self.serve(connection, answer: answer, received: received)
                close(connection)
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var lines: [String] { received.value }
    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    private static func serve(_ connection: Int32, answer: (String) -> Answer, received: Shared<[String]>) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return }
            pending += chunk[..<count]
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                received.update { $0.append(line) }
                let reply = answer(line)
                for text in reply.lines {
                    _ = (text + "\n").utf8CString.withUnsafeBufferPointer {
                        send(connection, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL))
                    }
                }
                if reply.thenClose { return }
            }
        }
    }
}
typealias Backoff = HeartbeatClient.Backoff

/// A loopback port that refuses connections for as long as this value lives: bound, never listening, so
/// no other test's server can be given the same number while a client here keeps knocking on it.
final class RefusingPort: Sendable {
    let port: UInt16
    private let socketFD: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw SupportError("cannot bind a refusing port: errno \(errno)")
        }
        socketFD = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(socketFD) }

    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }
}
