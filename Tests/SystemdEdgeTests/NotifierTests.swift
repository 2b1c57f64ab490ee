// Notifier against a real NOTIFY_SOCKET: a datagram socket this test binds, as systemd would, reading
// the exact datagrams sd_notify sends.
import Glibc
import SystemdEdge
import TestSupport
import Testing

extension ProcessWide {
    @Suite struct NotifierTests {
        @Test func isNilWithoutNotifySocket() {
            withEnvironment(["NOTIFY_SOCKET": nil]) {
                #expect(Notifier.fromEnvironment() == nil)
            }
        }

        @Test func sendsEachNotificationToAPathSocket() throws {
            let directory = try makeTemporaryDirectory("notify")
            defer { removeTree(directory) }
            let listener = try NotifyListener(address: directory + "/notify.sock")
            try withEnvironment(["NOTIFY_SOCKET": listener.address]) {
                let notifier = try #require(Notifier.fromEnvironment())
                let pid = getpid()

                notifier.ready(status: "3 clients")
                #expect(try listener.receive() == "READY=1\nSTATUS=3 clients\nMAINPID=\(pid)")
                notifier.ready()
                #expect(try listener.receive() == "READY=1\nMAINPID=\(pid)")
                notifier.status("1843 clients · 12 reaped/min (timeout 9, eof 3) · 0 overload")
                #expect(try listener.receive() == "STATUS=1843 clients · 12 reaped/min (timeout 9, eof 3) · 0 overload")
                notifier.reloading(monotonicMicroseconds: 123_456_789)
                #expect(try listener.receive() == "RELOADING=1\nMONOTONIC_USEC=123456789")
                notifier.stopping()
                #expect(try listener.receive() == "STOPPING=1")
                notifier.stopping(status: "draining")
                #expect(try listener.receive() == "STOPPING=1\nSTATUS=draining")
                notifier.watchdog()
                #expect(try listener.receive() == "WATCHDOG=1")
                notifier.send("EXTEND_TIMEOUT_USEC=5000000\nSTATUS=slow start")
                #expect(try listener.receive() == "EXTEND_TIMEOUT_USEC=5000000\nSTATUS=slow start")
            }
        }

        @Test func sendsToAnAbstractSocket() throws {
            let listener = try NotifyListener(address: "@sdedge-notify-\(getpid())")
            try withEnvironment(["NOTIFY_SOCKET": listener.address]) {
                let notifier = try #require(Notifier.fromEnvironment())
                notifier.ready()
                #expect(try listener.receive() == "READY=1\nMAINPID=\(getpid())")
                notifier.watchdog()
                #expect(try listener.receive() == "WATCHDOG=1")
            }
        }

        @Test func keepsAStatusOnOneLine() throws {
            let listener = try NotifyListener(address: "@sdedge-status-\(getpid())")
            try withEnvironment(["NOTIFY_SOCKET": listener.address]) {
                let notifier = try #require(Notifier.fromEnvironment())
                notifier.status("id evil\nWATCHDOG=1")
                #expect(try listener.receive() == "STATUS=id evil WATCHDOG=1")
            }
        }
    }
}

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket. An address that
/// starts with "@" is in the abstract namespace, as NOTIFY_SOCKET spells it.
final class NotifyListener {
    let address: String
    private let fd: Int32

    init(address: String) throws {
        self.address = address
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket failed: errno \(errno)")
        let bound = try UnixAddress(address).withSocketAddress { bind(fd, $0, $1) }
        if bound != 0 { close(fd) }
        try #require(bound == 0, "bind \(address) failed: errno \(errno)")
    }

    deinit {
        close(fd)
        if !address.hasPrefix("@") { unlink(address) }
    }

    /// The next datagram, waiting at most `timeoutMilliseconds` for it.
    func receive(timeoutMilliseconds: Int32 = 5000) throws -> String {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        try #require(ready == 1, "no datagram on \(address) within \(timeoutMilliseconds) ms")
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        try #require(count >= 0, "recv failed: errno \(errno)")
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
