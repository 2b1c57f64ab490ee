// Reading the kernel's text files under /proc: a process's memory and CPU time for the bench's
// --pid sampling, and the TCP socket tables for counting connection states.
import Glibc

/// What /proc says about one process at one instant.
public struct ProcessSample: Sendable, Equatable {
    /// VmRSS from /proc/PID/status: resident memory, in bytes.
    public var residentBytes: UInt64
    /// utime + stime from /proc/PID/stat: CPU time in user and kernel mode, in nanoseconds
    /// (the kernel counts it in clock ticks, usually 10 ms each).
    public var cpuNanoseconds: UInt64

    /// Samples process `pid`. Throws when the process does not exist or /proc cannot be read.
    public static func read(pid: Int32) throws(SystemError) -> ProcessSample {
        let status = String(decoding: try readFile("/proc/\(pid)/status"), as: UTF8.self)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let kilobytes = line.flatMap {
            UInt64($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        guard let kilobytes else { throw SystemError(call: "parse /proc/\(pid)/status VmRSS", errno: .invalidArgument) }

        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        let stat = String(decoding: try readFile("/proc/\(pid)/stat"), as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else {
            throw SystemError(call: "parse /proc/\(pid)/stat", errno: .invalidArgument)
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ')': state is field 3, so utime (field 14) and stime (field 15) are at offsets 11 and 12.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else {
            throw SystemError(call: "parse /proc/\(pid)/stat", errno: .invalidArgument)
        }
        let ticksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return ProcessSample(
            residentBytes: kilobytes * 1024, cpuNanoseconds: (user + system) * (1_000_000_000 / ticksPerSecond))
    }
}

/// TCP socket states as /proc/net/tcp and /proc/net/tcp6 number them.
public enum TCPState: UInt8, Sendable, CaseIterable {
    case established = 1
    case synSent, synReceived, finWait1, finWait2, timeWait, closed, closeWait, lastAck, listen, closing, newSynReceived

    /// The name `ss` prints.
    public var name: String {
        switch self {
        case .established: "ESTAB"
        case .synSent: "SYN-SENT"
        case .synReceived: "SYN-RECV"
        case .finWait1: "FIN-WAIT-1"
        case .finWait2: "FIN-WAIT-2"
        case .timeWait: "TIME-WAIT"
        case .closed: "UNCONN"
        case .closeWait: "CLOSE-WAIT"
        case .lastAck: "LAST-ACK"
        case .listen: "LISTEN"
        case .closing: "CLOSING"
        case .newSynReceived: "NEW-SYN-RECV"
        }
    }
}

/// One row of /proc/net/tcp{,6}: the socket's local and remote ports and its state.
public struct TCPSocketEntry: Sendable, Equatable {
    public var localPort: UInt16
    public var remotePort: UInt16
    public var state: TCPState
}

/// Every TCP socket of this network namespace, IPv4 and IPv6, from /proc/net/tcp and /proc/net/tcp6.
public func tcpSocketTable() throws(SystemError) -> [TCPSocketEntry] {
    var entries: [TCPSocketEntry] = []
    for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = String(decoding: try readFile(path), as: UTF8.self)
        for line in text.split(separator: "\n").dropFirst() {
            // "  12: 0100007F:1E14 0100007F:9C40 01 …": local, remote (hex address:port), state (hex).
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3,
                let local = fields[1].split(separator: ":").last.flatMap({ UInt16($0, radix: 16) }),
                let remote = fields[2].split(separator: ":").last.flatMap({ UInt16($0, radix: 16) }),
                let code = UInt8(fields[3], radix: 16), let state = TCPState(rawValue: code)
            else { continue }
            entries.append(TCPSocketEntry(localPort: local, remotePort: remote, state: state))
        }
    }
    return entries
}

/// The whole content of a (small, /proc-style) file. The corresponding C functions are `open(2)` and `read(2)`.
public func readFile(_ path: String) throws(SystemError) -> [UInt8] {
    let fd: Int32
    do {
        fd = try retrying("open") { open(path, O_RDONLY | O_CLOEXEC) }
    } catch {
        throw SystemError(call: "open \(path)", errno: error.errno)
    }
    defer { closeDescriptor(fd) }
    var content: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let result = chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            }
        }
        switch result {
        case .failure(let error): throw SystemError(call: "read \(path)", errno: error.errno)
        case .success(0): return content
        case .success(let count): content.append(contentsOf: chunk[..<count])
        }
    }
}
