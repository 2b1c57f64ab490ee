import CLinux
import DeviceKeys
import Glibc
import Logging
import Primitives
import TestSupport

// What the in-process worker tests share: Settings built in one place, a clock the test moves, and a
// Rig that holds workers without listeners, hands them client sockets through `Worker.adopt`, and runs
// their loop turns on the test's own thread.
@testable import EventLoop
@testable import Posix
@testable import ServerCore

/// The only place the tests build a `Settings`: intervals of whole seconds, sessions logged at debug.
/// `requiresToken` turns auth on with the device-key check heartbeatd uses; no secret fails every HELLO.
func testSettings(
    interval: Duration = .seconds(1), timeoutFactor: Int = 2, helloTimeout: Duration = .seconds(5),
    maxLine: Int = 256, maxClients: Int = 1_000, maxClientsPerAddress: Int = 0,
    drainTimeout: Duration = .seconds(5), requiresToken: Bool = false, authSecret: [UInt8]? = nil
) -> Settings {
    var auth = AuthPolicy.off
    if requiresToken {
        auth = .token { id, token in authSecret.map { DeviceKey.matches(token, secret: $0, id: id) } ?? false }
    }
    return Settings(
        interval: nanoseconds(interval), intervalMin: 100_000_000, intervalMax: 300_000_000_000,
        timeoutFactor: UInt64(timeoutFactor), helloTimeout: nanoseconds(helloTimeout), pong: true,
        maxLine: maxLine, maxClients: maxClients, maxClientsPerAddress: maxClientsPerAddress, logSessions: true,
        logLevel: .debug,
        keepalive: TCPKeepalive(idleSeconds: 60, intervalSeconds: 10, count: 6, userTimeoutMilliseconds: 0),
        drainTimeout: nanoseconds(drainTimeout), auth: auth
    )
}

private func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
}

/// Monotonic nanoseconds that move only when the test says so.
final class ManualClock {
    /// Far from zero, and not on a round number, so nothing depends on the origin.
    var now: UInt64 = 1_000_000_000_007

    func advance(milliseconds: UInt64) { now += milliseconds * 1_000_000 }
}

/// How a test client reaches the worker: a socketpair (every effect is visible to the peer as soon as the
/// call returns, which lets a test look at the peer from inside a reap) or loopback TCP (for RST).
enum Transport {
    case unix
    case tcp
}

final class Rig {
    static let tick: UInt64 = 100_000_000
    let clock = ManualClock()
    let book = LogBook()
    let presence = PresenceLog()
    let shared: Shared
    let workers: [Worker]
    private var listener: Listening?
    private var nextPort: UInt16 = 40_000

    /// `listeners` go to the first worker (most tests hand sessions over with `connect` instead).
    /// `eventsPerWait` small makes a turn's epoll batch fill up, as a storm or a starved worker does.
    init(
        workers count: Int = 1, settings: Settings = testSettings(), listeners: [ServerCore.Listener] = [],
        eventsPerWait: Int = 512
    ) throws {
        var mailboxes: [Mailbox<WorkerMessage>] = []
        for _ in 0..<count { mailboxes.append(try Mailbox<WorkerMessage>()) }
        shared = Shared(mailboxes: mailboxes)
        let book = book
        let logger = Logger(label: "test") { _ in LogBookHandler(book: book) }
        var workers: [Worker] = []
        for index in 0..<count {
            let worker = try Worker(
                index: index, settings: settings, listeners: index == 0 ? listeners : [], shared: shared,
                tick: Self.tick,
                mailbox: mailboxes[index], logger: logger, clock: { [clock] in clock.now }, eventsPerWait: eventsPerWait
            )
            let presence = presence
            worker.onPresence = { presence.append($0) }
            try worker.prepare()
            workers.append(worker)
        }
        self.workers = workers
    }

    var worker: Worker { workers[0] }

    /// A connected client whose other end `workers[index]` adopted, as its accept path would.
    /// `beforeAdopting` sees the client first (to watch a session the worker reaps while adopting it).
    func connect(
        to index: Int = 0, over transport: Transport = .unix, beforeAdopting: (Peer) -> Void = { _ in }
    ) throws -> Peer {
        switch transport {
        case .unix:
            var ends: [Int32] = [0, 0]
            let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            guard socketpair(AF_UNIX, flags, 0, &ends) == 0 else {
                throw SystemError(call: "socketpair", errno: Errno.current)
            }
            let server = Socket(owning: ends[1])
            try server.setSendBufferSize(Worker.sendBufferBytes)
            nextPort += 1
            let address = SocketAddress(host: "127.0.0.1", port: nextPort)!
            return adopt(server, client: Socket(owning: ends[0]), address: address, to: index, beforeAdopting)
        case .tcp:
            let listener = try self.listener ?? Listening()
            self.listener = listener
            let bound = try listener.socket.localAddress()
            let client = try Socket.connecting(to: bound, from: nil)
            // Loopback finishes the handshake at once as a rule; allow the kernel a few seconds all the same.
            var address = bound
            for _ in 0..<500 {
                if let server = try listener.socket.accept(peer: &address) {
                    return adopt(server, client: client, address: address, to: index, beforeAdopting)
                }
                usleep(10_000)
            }
            throw SystemError(call: "accept4", errno: .wouldBlock)
        }
    }

    /// One loop turn of `workers[index]` at the clock's instant. The ping makes epoll_wait return at once,
    /// so a turn never waits in real time for a deadline the manual clock has not reached.
    func turn(_ index: Int = 0) throws {
        workers[index].mailbox.post(.ping)
        try workers[index].loop.runTurn()
    }

    /// Turns until `condition` holds (the kernel may take a moment to pass bytes over loopback TCP);
    /// false when it still does not after a few seconds. The clock does not move meanwhile.
    func turns(_ index: Int = 0, until condition: () -> Bool) throws -> Bool {
        try eventuallyBlocking {
            try turn(index)
            return condition()
        }
    }

    /// Sends HELLO (and a token when given) and turns until the OK arrives; returns the OK line.
    func identify(_ peer: Peer, as id: String, worker index: Int = 0, token: String? = nil) throws -> String? {
        peer.send("HELLO \(id)" + (token.map { " token=\($0)" } ?? "") + "\n")
        _ = try turns(index) {
            peer.pump()
            return !peer.lines.isEmpty || peer.isClosed
        }
        return peer.lines.first
    }

    /// Hands `server` to worker `index`; the peer knows the slot the worker's loop gives it (the one it
    /// would have, for a session reaped while adopted).
    private func adopt(
        _ server: consuming Socket, client: consuming Socket, address: SocketAddress, to index: Int,
        _ beforeAdopting: (Peer) -> Void
    ) -> Peer {
        let peer = Peer(client, address: address, slot: workers[index].loop.registrations.next)
        beforeAdopting(peer)
        let slot = workers[index].adopt(server, peer: address)
        precondition(slot == nil || slot == peer.slot, "the loop gave slot \(slot!), not \(peer.slot)")
        return peer
    }

    /// The slot the worker keeps `id`'s session in, per the registry.
    func slot(of id: String) -> Int? {
        ClientID(id).flatMap(shared.registry.owner(of:)).map { Int($0.slot) }
    }

    /// The lines logged about `peer`'s session ending (there must be exactly one).
    func reapLines(of peer: Peer) -> [LogBook.Record] {
        book.records.filter { $0.metadata["reason"] != nil && $0.metadata["peer"] == "\(peer.address)" }
    }
}

/// The loopback listener TCP clients reach the rig through (the rig accepts; the worker only adopts).
final class Listening {
    let socket: Socket

    /// A socket held by reference, so a test can keep it in a copyable place; closed when dropped.
    final class End {
        let socket: Socket
        init(_ socket: consuming Socket) { self.socket = socket }
    }

    init() throws {
        socket = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!, reusePort: false)
        // What the daemon sets on its listeners, so accepted sockets inherit it as theirs do.
        try socket.setSendBufferSize(Worker.sendBufferBytes)
    }

    /// A loopback TCP connection: the client end, and the server end as a descriptor to hand over.
    func connection() throws -> (client: Peer, server: DescriptorID, peer: SocketAddress) {
        let bound = try socket.localAddress()
        let client = try Socket.connecting(to: bound, from: nil)
        var address = bound
        for _ in 0..<500 {
            if let server = try socket.accept(peer: &address) {
                // The slot is the worker's to give at `restore`: tests find it through the registry.
                return (Peer(client, address: address, slot: -1), server.relinquish(), address)
            }
            usleep(10_000)
        }
        throw SystemError(call: "accept4", errno: .wouldBlock)
    }
}

/// The client end of a session, read and written without blocking.
final class Peer {
    let address: SocketAddress
    /// The worker's slot for this session: the one its loop gave the session's registration.
    let slot: Int
    private var end: Listening.End?
    private var received: [UInt8] = []
    private(set) var isClosed = false
    private(set) var error: Errno?

    init(_ socket: consuming Socket, address: SocketAddress, slot: Int) {
        end = Listening.End(socket)
        self.address = address
        self.slot = slot
    }

    /// Whether our end is still open (we can still see what the worker sends).
    var isOpen: Bool { end != nil }

    func send(_ text: String) {
        guard let end else { return }
        Array(text.utf8).withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
                guard case .done(let count)? = try? end.socket.send(rest) else { return }
                offset += count
            }
        }
    }

    /// Reads whatever has arrived; notes EOF or a reset.
    func pump() {
        guard let end else { return }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !isClosed {
            let result = chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) in try end.socket.read(into: buffer) }
            }
            switch result {
            case .success(.done(0)): isClosed = true
            case .success(.done(let count)): received += chunk[..<count]
            case .success(.wouldBlock): return
            case .failure(let failure):
                error = failure.errno
                isClosed = true
            }
        }
    }

    /// Every complete line received so far, without the "\n".
    var lines: [String] {
        received.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sends our FIN but keeps reading: the worker's farewell and its FIN still reach us.
    func finish() {
        end?.socket.shutdownWrite()
    }

    /// Closes our end: a FIN, or with `abort` (TCP) an RST.
    func close(abort: Bool = false) {
        if abort { try? end?.socket.abortOnClose() }
        end = nil
    }

    /// TCP segments our end has received so far (TCP_INFO's `tcpi_segs_in`, read by CLinux's tcp_info.c:
    /// glibc's `tcp_info` stops before it).
    func segmentsReceived() throws -> UInt32 {
        var segments: UInt32 = 0
        guard let end, clinux_tcp_segments_in(end.socket.id.rawValue, &segments) == 0 else {
            throw SystemError(call: "getsockopt(TCP_INFO)", errno: Errno.current)
        }
        return segments
    }

    /// Shrinks our receive buffer, for a client that does not read.
    func shrinkReceiveBuffer() throws {
        try end?.socket.setOption(SOL_SOCKET, SO_RCVBUF, 1024, "setsockopt(SO_RCVBUF)")
    }
}
