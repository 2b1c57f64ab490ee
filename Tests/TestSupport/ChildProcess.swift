// Test support: start and wait for child processes with posix_spawn and waitpid.
// Foundation's Process hangs here when many tests spawn and wait at once (its run-loop based
// termination monitor stalls), so the test suites use this instead; its API mirrors the part of
// Process they need.
import CLinux
import Foundation
import Glibc

public final class ChildProcess: @unchecked Sendable {
    // @unchecked: the mutable state after `run()` (the exit status) is guarded by `lock`.
    public var executableURL: URL?
    public var arguments: [String] = []
    /// nil: inherit this process's environment.
    public var environment: [String: String]?
    /// Each a FileHandle or a Pipe (its writing end for output, its reading end for input); nil inherits.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    /// Descriptors the child gets as 3, 4, … (as systemd passes LISTEN_FDS); everything else above 2 is closed.
    public var passing: [Int32] = []
    public private(set) var processIdentifier: Int32 = 0

    private let lock = NSLock()
    private var status: Int32?

    public init() {}

    public enum Failure: Error, CustomStringConvertible {
        case spawn(String, Int32)
        public var description: String {
            switch self {
            case .spawn(let path, let error): "posix_spawn \(path): \(String(cString: strerror(error)))"
            }
        }
    }

    public func run() throws {
        guard let path = executableURL?.path else { throw Failure.spawn("(no executable)", EINVAL) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, stream, isInput) in [
            (Int32(0), standardInput, true), (1, standardOutput, false), (2, standardError, false),
        ] {
            if let descriptor = Self.descriptor(of: stream, isInput: isInput) {
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            }
        }
        // Copies above every target first, so that no dup2 overwrites a descriptor still to be passed.
        let copies = passing.map { fcntl($0, F_DUPFD_CLOEXEC, 1_000) }
        defer { for copy in copies { Glibc.close(copy) } }
        for (offset, copy) in copies.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, copy, 3 + Int32(offset))
        }
        // Nothing else leaks into the child: other tests' pipe ends would keep their readers from seeing EOF.
        CLinux.posix_spawn_file_actions_addclosefrom_np(&actions, 3 + Int32(passing.count))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let variables =
            environment.map { $0.map { "\($0.key)=\($0.value)" } }
            ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { for variable in envp { free(variable) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw Failure.spawn(path, result) }
        processIdentifier = pid
        // The parent's copies of the child's pipe ends are closed, as Process does.
        for (stream, isInput) in [(standardInput, true), (standardOutput, false), (standardError, false)] {
            if let pipe = stream as? Pipe {
                try? (isInput ? pipe.fileHandleForReading : pipe.fileHandleForWriting).close()
            }
        }
    }

    private static func descriptor(of stream: Any?, isInput: Bool) -> Int32? {
        switch stream {
        case let pipe as Pipe:
            isInput ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
        case let handle as FileHandle: handle.fileDescriptor
        default: nil
        }
    }

    /// Reaps the child if it has exited; never blocks.
    private func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        guard processIdentifier > 0 else { return nil }
        var raw: Int32 = 0
        if waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier { status = raw }
        return status
    }

    public var isRunning: Bool { processIdentifier > 0 && poll() == nil }

    public func waitUntilExit() {
        while poll() == nil, processIdentifier > 0 { usleep(2_000) }
    }

    /// The exit code, or 128 + the signal number for a child killed by a signal (as a shell reports it).
    public var terminationStatus: Int32 {
        guard let raw = poll() else { return -1 }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// True when a signal ended the child.
    public var wasSignalled: Bool {
        guard let raw = poll() else { return false }
        return raw & 0x7f != 0
    }

    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }
}
