import TestSupport
import Testing

// The posix layer: listening, accepting, would-block as a value, errors carrying the call and errno.
@testable import Posix

@Suite struct SocketTests {
    @Test func listenOnPortZeroReportsTheRealPort() throws {
        let address = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        let listener = try Socket.listen(on: address, reusePort: true)
        let bound = try listener.localAddress()
        #expect(bound.port != 0)
        #expect(bound.description == "127.0.0.1:\(bound.port)")
        var peer = bound
        #expect(try listener.accept(peer: &peer) == nil, "nothing waiting: would-block comes back as nil, not an error")
    }

    @Test func bindingABusyPortNamesTheCallAndTheErrno() throws {
        let address = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        let first = try Socket.listen(on: address, reusePort: false)
        let taken = try first.localAddress()
        #expect(throws: SystemError(call: "bind", errno: .addressInUse)) {
            _ = try Socket.listen(on: taken, reusePort: false)
        }
    }

    @Test func addressesParseAndPrint() throws {
        #expect(SocketAddress(host: "::1", port: 7700)?.description == "[::1]:7700")
        #expect(SocketAddress(host: "192.0.2.7", port: 1)?.description == "192.0.2.7:1")
        #expect(SocketAddress(host: "example.com", port: 1) == nil)
        #expect(SocketAddress(host: "1.2.3", port: 1) == nil)
    }

    @Test func readingAnEmptySocketIsWouldBlockNotAnError() throws {
        let address = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        let listener = try Socket.listen(on: address, reusePort: false)
        let client = try Socket.connecting(to: try listener.localAddress(), from: nil)
        var peer = address
        var accepted: Socket?
        #expect(
            try eventuallyBlocking {
                accepted = try listener.accept(peer: &peer)
                return accepted != nil
            })
        #expect(peer.port == (try client.localAddress()).port)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { buffer.deallocate() }
        guard case .wouldBlock = try accepted?.read(into: buffer) else {
            Issue.record("an empty non-blocking socket did not answer .wouldBlock")
            return
        }
        try [UInt8(7)].withUnsafeBytes { bytes in _ = try client.send(bytes) }
        #expect(
            eventuallyBlocking {
                if case .done(1)? = try? accepted?.read(into: buffer) { true } else { false }
            })
    }

    @Test func readingAClosedDescriptorIsEBADFFromRead() throws {
        // A descriptor number no process can have open (above any RLIMIT_NOFILE), owned for the test.
        let socket = Socket(owning: Int32.max - 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { buffer.deallocate() }
        #expect(throws: SystemError(call: "read", errno: .badDescriptor)) { _ = try socket.read(into: buffer) }
        #expect(throws: SystemError(call: "send", errno: .badDescriptor)) {
            _ = try socket.send(UnsafeRawBufferPointer(buffer))
        }
    }
}

@Suite struct RandomAndRawAddressTests {
    @Test func getrandomFillsWhatIsAsked() throws {
        let first = try Random.bytes(count: 16)
        let second = try Random.bytes(count: 16)
        #expect(first.count == 16 && second.count == 16)
        // 2^-128 to fail by chance.
        #expect(first != second)
        #expect(try Random.bytes(count: 0).isEmpty)
    }

    @Test func anAddressFromRawBytesIsTheSameAsFromText() {
        #expect(SocketAddress(bytes: [192, 0, 2, 7], port: 54321) == SocketAddress(host: "192.0.2.7", port: 54321))
        let six: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [5]
        #expect(SocketAddress(bytes: six, port: 80) == SocketAddress(host: "2001:db8::5", port: 80))
        #expect(SocketAddress(bytes: [1, 2, 3], port: 1) == nil)
    }
}
