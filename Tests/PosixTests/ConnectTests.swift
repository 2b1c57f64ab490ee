import TestSupport
import Testing

// The calling side of TCP: a refused connect carries "connect" and ECONNREFUSED whether the kernel
// says so at once or through the socket's pending error, and a connect that succeeds is writable.
@testable import Posix

@Suite struct ConnectTests {
    @Test func connectingToAClosedPortIsECONNREFUSED() throws {
        let any = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        // A port that was just free: listen, learn it, close.
        let closed = try Socket.listen(on: any, reusePort: false)
        let port = try closed.localAddress().port
        closed.close()
        let server = any.with(port: port)
        do throws(SystemError) {
            let socket = try Socket.connecting(to: server, from: nil)
            var pending: Errno?
            #expect(
                eventuallyBlocking {
                    pending = socket.pendingError()
                    return pending != nil
                })
            #expect(pending == .connectionRefused)
        } catch {
            #expect(error == SystemError(call: "connect", errno: .connectionRefused))
        }
    }

    @Test func connectingFromASourceAddressUsesIt() throws {
        let any = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        let listener = try Socket.listen(on: any, reusePort: false)
        let source = try #require(SocketAddress(host: "127.0.0.7", port: 0))
        let socket = try Socket.connecting(to: try listener.localAddress(), from: source)
        var peer = any
        var accepted: Socket?
        #expect(
            try eventuallyBlocking {
                accepted = try listener.accept(peer: &peer)
                return accepted != nil
            })
        #expect(peer.host == source.host)
        #expect(socket.pendingError() == nil)
    }

    @Test func resolvingFindsLoopbackAndReportsAnUnknownName() {
        guard case .found(let addresses) = SocketAddress.resolve(host: "localhost", port: 7700) else {
            Issue.record("localhost did not resolve")
            return
        }
        #expect(addresses.contains { $0.description == "127.0.0.1:7700" })
        #expect(SocketAddress.resolve(host: "::1", port: 1) == .found([SocketAddress(host: "::1", port: 1)!]))
        guard case .failed(let text) = SocketAddress.resolve(host: "no-such-host.invalid", port: 1) else {
            Issue.record("an .invalid name resolved")
            return
        }
        #expect(!text.isEmpty)
    }
}
