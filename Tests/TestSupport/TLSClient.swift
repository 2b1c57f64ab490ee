// A TLS client for tests, over the daemon's own TLS module: a TCP connection (LineClient's Client),
// a handshake with a deadline, then lines in and out. Blocking with poll(2) deadlines, no sleeps.
import Foundation
import Glibc
import Posix
import TLS

public final class TLSClient {
    /// The TCP connection underneath (its local port names the session in the daemon's log).
    public let connection: Client
    public let stream: TLSStream
    private var buffered: [UInt8] = []

    /// Connects to `port` and starts TLS with `context`; call `handshake` next.
    public init(port: UInt16, context: TLSContext, serverName: String? = "127.0.0.1", session: TLSSession? = nil)
        throws
    {
        connection = try Client(port: port)
        let flags = fcntl(connection.fd, F_GETFL)
        _ = fcntl(connection.fd, F_SETFL, flags | O_NONBLOCK)
        stream = try context.connect(DescriptorID(number: connection.fd), serverName: serverName)
        if let session { stream.resume(session) }
    }

    /// A context trusting the test CA, with the client certificate `name` from TestCertificates if given.
    public static func context(certificate name: String? = nil, trusting ca: String? = nil) throws -> TLSContext {
        let certificates = TestCertificates.shared
        let client = name.map { certificates.client($0) }
        return try TLSContext.client(
            trusting: ca ?? certificates.ca, certificate: client?.certificate, privateKey: client?.key)
    }

    /// Runs the handshake to its end; throws the TLS error, or a TestFailure after `seconds`.
    public func handshake(within seconds: Double = 5) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            switch try stream.handshake() {
            case .done, .closed: return
            case .wantRead:
                guard wait(for: Int16(POLLIN), until: deadline) else {
                    throw TestFailure.message("handshake timed out")
                }
            case .wantWrite:
                guard wait(for: Int16(POLLOUT), until: deadline) else {
                    throw TestFailure.message("handshake timed out")
                }
            }
        }
    }

    /// Sends all of `text` through TLS; false if the connection failed.
    @discardableResult
    public func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        let deadline = Date().addingTimeInterval(5)
        while offset < bytes.count {
            let result = bytes[offset...].withUnsafeBytes { try? stream.write($0) }
            switch result {
            case .done(let count)?: offset += count
            case .wantRead?: guard wait(for: Int16(POLLIN), until: deadline) else { return false }
            case .wantWrite?: guard wait(for: Int16(POLLOUT), until: deadline) else { return false }
            case .closed?, nil: return false
            }
        }
        return true
    }

    /// The next line without its "\n"; nil on close, a TLS error or after `seconds`.
    public func readLine(within seconds: Double = 5) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            guard fill(until: deadline) == true else { return nil }
        }
    }

    /// True once the server has closed (close_notify, EOF or reset) within `seconds`, reading what came before.
    public func isClosedByServer(within seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            switch fill(until: deadline) {
            case true?: continue
            case false?: return true
            case nil: return false
            }
        }
    }

    /// One record into `buffered`: true, false when closed or failed, nil at the deadline.
    private func fill(until deadline: Date) -> Bool? {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let result = chunk.withUnsafeMutableBytes { try? stream.read(into: $0) }
            switch result {
            case .done(let count)?:
                buffered += chunk[..<count]
                return true
            case .wantRead?: guard wait(for: Int16(POLLIN), until: deadline) else { return nil }
            case .wantWrite?: guard wait(for: Int16(POLLOUT), until: deadline) else { return nil }
            case .closed?, nil: return false
            }
        }
    }

    private func wait(for events: Int16, until deadline: Date) -> Bool {
        let milliseconds = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        var descriptor = pollfd(fd: connection.fd, events: events, revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }
}
