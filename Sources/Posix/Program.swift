// Running programs: the daemon's own binary, to check it (a child that must exit 0) and then to become
// it (`execve`, same process id, inherited descriptors kept).
import CLinux
import Glibc

public enum Program {
    /// The path of the running binary as it was when the process started; read it early, before an
    /// upgrade replaces the file (after that, /proc/self/exe says "(deleted)").
    /// The corresponding C function is `readlink(2)` on /proc/self/exe.
    public static func ownPath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The process's own arguments, as /proc/self/cmdline has them (argv[0] first).
    public static func ownArguments() -> [String] {
        CommandLine.arguments
    }

    /// Starts `path` with `arguments` (argv[0] is `path`), stdin and stdout on /dev/null, stderr
    /// inherited, nothing else open; waits up to `timeout` nanoseconds. Returns the exit status, or a
    /// text saying why there is none (could not start, killed by a signal, still running: killed).
    public static func check(_ path: String, arguments: [String], timeout: UInt64) -> Result<Int32, CheckFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        CLinux.posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let started = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard started == 0 else { return .failure(.cannotStart(Errno(rawValue: started))) }
        let deadline = Clock.monotonicNanoseconds() + timeout
        while true {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                if status & 0x7F == 0 { return .success((status >> 8) & 0xFF) }
                return .failure(.signalled(status & 0x7F))
            }
            if reaped < 0, Errno.current != .interrupted { return .failure(.cannotStart(Errno.current)) }
            if Clock.monotonicNanoseconds() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return .failure(.timedOut)
            }
            usleep(10_000)
        }
    }

    public enum CheckFailure: Error, CustomStringConvertible {
        case cannotStart(Errno)
        case signalled(Int32)
        case timedOut

        public var description: String {
            switch self {
            case .cannotStart(let errno): "cannot be started (\(errno.name))"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .timedOut: "did not finish in time"
            }
        }
    }

    /// Replaces this process with `path`: same process id; descriptors without FD_CLOEXEC stay open.
    /// Returns only if that failed, with why. Signals blocked now stay blocked in the new program,
    /// which expects it (it blocks them before anything else anyway).
    /// The corresponding C function is `execve(2)`.
    public static func replace(with path: String, arguments: [String], environment: [String: String]) -> SystemError {
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for variable in envp { free(variable) } }
        execve(path, argv, envp)
        return SystemError(call: "execve(\(path))", errno: Errno.current)
    }

    /// The environment as a dictionary.
    public static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// Removes `name` from this process's environment. The corresponding C function is `unsetenv(3)`.
    public static func unsetEnvironment(_ name: String) { unsetenv(name) }
}

extension Program {
    /// Ends the process now, other threads and all. The corresponding C function is `exit(3)`.
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }
}

extension Program {
    /// Blocks the calling thread; for a CLI's retry loop, never on an event loop.
    public static func pause(milliseconds: Int) { usleep(UInt32(milliseconds) * 1_000) }
}
