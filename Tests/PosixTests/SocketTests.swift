// The posix layer: listening, accepting, would-block as a value, errors carrying the call and errno.
import Posix
import Testing

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

    @Test func errnoNamesAreReadable() {
        #expect(Errno.connectionReset.name == "ECONNRESET")
        #expect(SystemError(call: "accept4", errno: .tooManyOpenFiles).description.hasPrefix("accept4: EMFILE"))
    }
}
