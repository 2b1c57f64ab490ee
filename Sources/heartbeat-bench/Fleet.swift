// Many protocol clients on one epoll loop, kept as parallel arrays indexed by client number:
// connect from a spread of source addresses, HELLO, read and split the server's lines, send PINGs
// tagged with their send time, close in one of three ways. The modes decide when to do what.
import DeviceKeys
import EventLoop
import Histogram
import Posix
import TLS
import WireProtocol

final class Fleet {
    enum Phase: UInt8 {
        case idle, connecting, handshaking, greeting, identified, closed
    }

    /// How a client's connection ended, as the fleet saw it.
    enum Ending {
        case connectFailed(Errno)
        /// The server sent `ERR <code>` (not `unknown-command`) and closed.
        case refused(String)
        /// EOF; `bye` is the reason of a `BYE` line that came first, if any.
        case closedByServer(bye: String?)
        case socketError(Errno)
        /// A PING could not be sent whole: the server stopped reading.
        case sendBlocked
    }

    /// How the bench ends a connection itself.
    enum Close {
        /// FIN, after which the kernel keeps the socket in TIME_WAIT or FIN_WAIT as usual.
        case finish
        /// RST (SO_LINGER 0).
        case abort
        /// Nothing at all (TCP_REPAIR): the server keeps the connection until its timeout reaps it.
        case vanish
    }

    let loop: EventLoop
    let server: SocketAddress
    /// Every server of the run (Servers.swift); `server` is the first.
    var servers: [SocketAddress]
    /// Source addresses, used round-robin; empty: let the kernel choose.
    let sources: [SocketAddress]
    let idPrefix: String
    /// The interval proposed in every HELLO, in milliseconds.
    var intervalMS: UInt64

    // The reading side (Fleet+Reading.swift) updates these, so their setters are internal.
    var phase: [Phase]
    /// The timeout granted in each client's OK, in nanoseconds.
    var grantedTimeout: [UInt64]
    let sockets: SocketTable
    var clientOfDescriptor: [Int32] = []
    private var helloNumber: [Int]
    var byeReason: [Int: String] = [:]
    var partialLines: [Int: [UInt8]] = [:]
    let input: UnsafeMutableRawBufferPointer
    /// The bytes of one write (HELLO, AUTH, PINGs), reused from client to client.
    var output: [UInt8] = []
    private var handler: EventLoop.HandlerID!
    /// --tls: the client context, each open client's stream, and with --resume its last session (Fleet+TLS).
    var tls: TLSContext?
    var resume = false
    var streams: [Int: TLSStream] = [:]
    var tlsSessions: [Int: TLSSession] = [:]
    /// --peer: speak MQTT or RESP instead of heartbeatd's protocol (Fleet+Peers.swift).
    var peer: Peer?
    /// --unstamped: each client's last PING write, in microseconds (Fleet+Unstamped.swift); nil: PINGs carry stamps.
    var sentAt: [UInt64]?
    var tlsHandshakes: UInt64 = 0
    var tlsResumptions: UInt64 = 0

    // Totals every mode reports.
    private(set) var pingsSent: UInt64 = 0
    var pongs: UInt64 = 0
    private(set) var failures = 0
    var rtt = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    /// A client got `OK`.
    var onIdentified: (Int) -> Void = { _ in }
    /// A read brought `count` PONG lines for a client (RTTs are already recorded).
    var onPongs: (Int, Int) -> Void = { _, _ in }
    /// One PONG's round trip and its PING's send time, both in microseconds (hold's switch report).
    var onRoundTrip: (Int, UInt64, UInt64) -> Void = { _, _, _ in }
    /// A client's connection ended without the bench closing it; its socket is closed already.
    /// The phase is the one it was in (`identified` for a session that was up).
    var onEnded: (Int, Ending, Phase) -> Void = { _, _, _ in }
    /// A `BYE <reason>` arrived, before the EOF that follows it; `at` is the monotonic instant of the read.
    var onBye: (Int, String, UInt64) -> Void = { _, _, _ in }
    /// How clients prove their ids, when the server has auth on (`--secret-file`, `--challenge`).
    var auth: FleetAuth = .off

    init(clients: Int, server: SocketAddress, sources: [SocketAddress], idPrefix: String, intervalMS: UInt64)
        throws(SystemError)
    {
        loop = try EventLoop(tick: 1_000_000, slots: 4096, eventsPerWait: 1024)
        self.server = server
        servers = [server]
        self.sources = sources
        self.idPrefix = idPrefix
        self.intervalMS = intervalMS
        phase = Array(repeating: .idle, count: clients)
        grantedTimeout = Array(repeating: 0, count: clients)
        helloNumber = Array(repeating: 0, count: clients)
        sockets = SocketTable(capacity: clients)
        input = .allocate(byteCount: 65_536, alignment: 16)
        output.reserveCapacity(65_536)
        handler = loop.addHandler { [unowned self] descriptor, readiness in
            self.ready(descriptor, readiness)
        }
    }

    deinit { input.deallocate() }

    var count: Int { phase.count }

    // MARK: Connecting

    /// Starts `client`'s connection to server `node` of `servers` (default: round robin by client);
    /// it will say `HELLO <prefix>-<idNumber> interval=<intervalMS>`.
    /// A failure to even start counts as a failure and is reported through `onEnded` at once.
    func connect(_ client: Int, idNumber: Int, node: Int? = nil) {
        let source = sources.isEmpty ? nil : sources[client % sources.count]
        let socket: Socket
        do {
            socket = try Socket.connecting(to: address(forTurn: node ?? client), from: source)
        } catch {
            failures += 1
            phase[client] = .closed
            onEnded(client, .connectFailed(error.errno), .idle)
            return
        }
        let descriptor = socket.id
        sockets.insert(socket, at: client)
        if descriptor.index >= clientOfDescriptor.count {
            clientOfDescriptor.append(
                contentsOf: repeatElement(
                    -1, count: max(descriptor.index + 1, clientOfDescriptor.count * 2, 1024) - clientOfDescriptor.count)
            )
        }
        clientOfDescriptor[descriptor.index] = Int32(client)
        helloNumber[client] = idNumber
        phase[client] = .connecting
        do {
            try loop.register(descriptor, interest: .writable, handler: handler)
        } catch {
            end(client, .socketError(error.errno))
        }
    }

    func connected(_ client: Int, _ descriptor: DescriptorID) {
        if let error = sockets.pendingError(at: client) {
            end(client, .connectFailed(error))
            return
        }
        if startTLS(client, descriptor) { return }
        greet(client, descriptor)
    }

    /// HELLO, once connected (and through the TLS handshake with --tls).
    func greet(_ client: Int, _ descriptor: DescriptorID) {
        output.removeAll(keepingCapacity: true)
        if let peer {
            output.append(contentsOf: peer.greeting)
        } else {
            do throws(ProtocolError) {
                var hello = Hello(id: id(of: client), intervalMS: intervalMS)
                if case .token(let secret) = auth { hello.token = DeviceKey.token(secret: secret, id: hello.id) }
                try RequestLine.appendHello(hello, to: &output)
            } catch {
                // The server would refuse this HELLO the same way.
                end(client, .refused(error.code.rawValue))
                return
            }
        }
        guard send(client) else { return }
        phase[client] = .greeting
        do {
            try loop.modify(descriptor, interest: [.readable, .peerClosed])
        } catch {
            end(client, .socketError(error.errno))
        }
    }

    func id(of client: Int) -> String { "\(idPrefix)-\(helloNumber[client])" }

    // MARK: Sending

    /// Sends `count` PINGs in one write, each tagged with its send time in microseconds.
    /// False if the client had to be ended.
    @discardableResult
    func ping(_ client: Int, count: Int = 1) -> Bool {
        guard phase[client] == .identified else { return false }
        output.removeAll(keepingCapacity: true)
        let micros = Clock.monotonicNanoseconds() / 1_000
        for _ in 0..<count { appendPing(stamp: micros) }
        sentAt?[client] = micros
        pingsSent += UInt64(count)
        return send(client)
    }

    /// Sends `text` (whole lines) as is. False if the client had to be ended.
    @discardableResult
    func say(_ client: Int, _ text: StaticString) -> Bool {
        output.removeAll(keepingCapacity: true)
        text.withUTF8Buffer { output.append(contentsOf: $0) }
        return send(client)
    }

    /// One write of `output`. A short write would cut a line, so it ends the client (the server is
    /// not reading: with a few lines in flight the kernel's buffer cannot fill otherwise).
    func send(_ client: Int) -> Bool {
        let result = output.withUnsafeBytes { bytes in
            Result { () throws(SystemError) in try transmit(bytes, client) }
        }
        switch result {
        case .failure(let error):
            end(client, .socketError(error.errno))
            return false
        case .success(.done(let sent)) where sent == output.count:
            return true
        case .success(nil):
            return false
        case .success:
            end(client, .sendBlocked)
            return false
        }
    }

    // MARK: Closing

    /// Ends `client` on the bench's initiative. Returns false when `.vanish` is not permitted here
    /// (no CAP_NET_ADMIN); the client is then closed with RST instead.
    @discardableResult
    func close(_ client: Int, _ how: Close) -> Bool {
        // close_notify: OpenSSL keeps a session resumable only after a clean TLS shutdown.
        if how == .finish { streams[client]?.shutdown() }
        guard let socket = detach(client) else { return true }
        var vanished = true
        switch how {
        case .finish:
            break
        case .abort:
            try? socket.abortOnClose()
        case .vanish:
            do {
                try socket.enterRepairMode()
            } catch {
                vanished = false
                try? socket.abortOnClose()
            }
        }
        socket.close()
        return vanished
    }

    /// Closes every client still open, with FIN.
    func closeAll() {
        for client in 0..<count where phase[client] != .closed && phase[client] != .idle {
            close(client, .finish)
        }
    }

    private func detach(_ client: Int) -> Socket? {
        guard let socket = sockets.remove(at: client) else { return nil }
        loop.unregister(socket.id)
        clientOfDescriptor[socket.id.index] = -1
        partialLines[client] = nil
        streams[client] = nil
        phase[client] = .closed
        return socket
    }

    func end(_ client: Int, _ ending: Ending) {
        let previous = phase[client]
        if case .closedByServer = ending { streams[client]?.shutdown() }
        detach(client)?.close()
        byeReason[client] = nil
        switch ending {
        case .closedByServer: break
        default: failures += 1
        }
        onEnded(client, ending, previous)
    }

    /// Counts a failure the fleet could not see (a client that ended at the wrong moment for its mode).
    func countFailure() { failures += 1 }

    /// Makes a closed client slot usable for a new connection.
    func reset(_ client: Int) {
        precondition(phase[client] == .closed || phase[client] == .idle, "client \(client) is still open")
        phase[client] = .idle
        grantedTimeout[client] = 0
    }
}
