// A plain TCP client for talking to the daemon line by line over loopback (blocking sends, polled
// reads with a deadline), a listener to make a port busy, and a free port.
import Foundation
import Glibc

/// Lines arriving on a socket, read without blocking: the TCP test client and the control-socket
/// client both read through one.
public struct LineReader {
    private var buffer: [UInt8] = []

    public init() {}

    /// Reads what has arrived; nil when nothing is there yet, false once the peer closed or reset.
    public mutating func fill(from fd: Int32) -> Bool? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer += chunk[..<count]
        return true
    }

    /// A complete line already received, without its "\n".
    public mutating func nextLine() -> String? {
        guard let newline = buffer.firstIndex(of: 0x0A) else { return nil }
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeSubrange(...newline)
        return line
    }

    /// The next line, or nil on EOF, reset or timeout.
    public mutating func readLine(from fd: Int32, within seconds: Double) async -> String? {
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

    /// The next line, or nil on EOF, reset or timeout, waiting in poll: for a thread of its own.
    public mutating func readLineBlocking(from fd: Int32, within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let line = nextLine() { return line }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left * 1000) + 1) > 0 else { continue }
            if fill(from: fd) == false { return nil }
        }
    }

    /// True once the peer has closed within `seconds`, after reading whatever it sent.
    public mutating func isClosed(_ fd: Int32, within seconds: Double) async -> Bool {
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

/// A TCP port on 127.0.0.1 nobody listens on right now (the kernel picked it; it is released again).
public func freePort() throws -> UInt16 {
    let listener = try Listener()
    return listener.port
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
public final class Listener {
    public let fd: Int32
    public let port: UInt16

    public init(host: String = "127.0.0.1", port: UInt16 = 0) throws {
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
public final class Client {
    public private(set) var fd: Int32
    private var reader = LineReader()
    /// This end's address and port: how the daemon's log names the connection (`peer=127.0.0.1:<port>`).
    public let localHost: String
    public let localPort: UInt16

    /// Connects to `host:port`, from `source` when given (any 127.x address works on loopback).
    /// `receiveBuffer` shrinks SO_RCVBUF before connecting (for a client that never reads).
    public init(port: UInt16, host: String = "127.0.0.1", source: String? = nil, receiveBuffer: Int32? = nil) throws {
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
    public func closeSocket() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends all of `text`; false if the connection refused it (closed, reset, or 5 s without room).
    @discardableResult
    public func send(_ text: String) -> Bool {
        send(bytes: Array(text.utf8))
    }

    @discardableResult
    public func send(bytes: [UInt8]) -> Bool {
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
    public func readLine(within seconds: Double = 5) async -> String? {
        await reader.readLine(from: fd, within: seconds)
    }

    /// Sends `first` (a HELLO, say) and then "PING n" every `period` seconds for `seconds`, all from a
    /// thread of its own, waiting up to `patience` seconds for each reply with a blocking poll: the replies
    /// in order, nil for one that did not come. A test task may wait seconds for a cooperative thread while
    /// other suites hold them, and a client silent that long is rightly reaped; an OS thread keeps the
    /// beats on time from the first line on.
    public func exchangeFromThread(
        first: String, thenPingFor seconds: Double, every period: Double, patience: Double = 2
    ) async -> [String?] {
        // The caller waits for the thread's answer, so the client is used by one thread at a time.
        nonisolated(unsafe) let client = self
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                var replies: [String?] = []
                guard client.send(first) else { return continuation.resume(returning: replies) }
                replies.append(client.reader.readLineBlocking(from: client.fd, within: patience))
                let until = Date().addingTimeInterval(seconds)
                while Date() < until, client.send("PING \(replies.count - 1)\n") {
                    replies.append(client.reader.readLineBlocking(from: client.fd, within: patience))
                    Thread.sleep(forTimeInterval: period)
                }
                continuation.resume(returning: replies)
            }
            thread.start()
        }
    }

    /// True once the server has closed (EOF or reset) within `seconds`, after reading whatever it sent.
    public func isClosedByServer(within seconds: Double = 5) async -> Bool {
        await reader.isClosed(fd, within: seconds)
    }

    /// Sends FIN (the peer sees EOF).
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with RST (SO_LINGER 0).
    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        closeSocket()
    }

    /// Vanishes without sending a packet: TCP_REPAIR mode makes close() silent (needs CAP_NET_ADMIN).
    public func vanish() -> Bool {
        var on: Int32 = 1
        let tcpRepair: Int32 = 19 // TCP_REPAIR, which Glibc does not export
        guard setsockopt(fd, Int32(IPPROTO_TCP), tcpRepair, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            return false
        }
        closeSocket()
        return true
    }
}

/// Connects and says HELLO; returns the client once the daemon answered OK.
public func identifiedClient(_ id: String, port: UInt16, interval: Int? = nil) async throws -> Client {
    let client = try Client(port: port)
    client.send("HELLO \(id)" + (interval.map { " interval=\($0)" } ?? "") + "\n")
    let reply = await client.readLine()
    guard let reply, reply.hasPrefix("OK \(id) ") else {
        throw TestFailure.message("HELLO \(id) was answered \(reply ?? "with nothing")")
    }
    return client
}
