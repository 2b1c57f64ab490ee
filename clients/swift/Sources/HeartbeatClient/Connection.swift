// One TCP connection of a client with its Dispatch readiness sources, and the rule that keeps them
// safe: the descriptor is closed only after every source watching it has finished cancelling.
import Dispatch
import Posix

/// A socket plus the sources that watch it, all used on the client's serial queue only.
final class Connection: @unchecked Sendable {
    // @unchecked: created, used and closed on the owning Engine's serial queue; Dispatch calls the
    // handlers on that same queue.
    let address: SocketAddress
    /// Bytes received but not yet framed into a complete line.
    var input: [UInt8] = []

    /// Nil once closed. Dispatch sources watch the descriptor by number, which is all `id` gives.
    private var socket: Socket?
    private let id: DescriptorID
    private let queue: DispatchQueue
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var openSources = 0
    private var isClosed = false

    init(socket: consuming Socket, address: SocketAddress, queue: DispatchQueue) {
        id = socket.id
        self.socket = consume socket
        self.address = address
        self.queue = queue
    }

    /// Sends all of `bytes` or nothing useful: `.wouldBlock` when the kernel took none (the server is
    /// not reading). A heartbeat line is far below the send buffer, so a partial send means trouble too.
    func send(_ bytes: [UInt8]) throws(SystemError) -> IOResult<Int> {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemError) in try socket?.send(buffer) ?? .done(0) }
        }
        return try result.get()
    }

    /// Reads what is there into `buffer`; `.done(0)` is the server's FIN (or a closed connection).
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try socket?.read(into: buffer) ?? .done(0)
    }

    /// Keepalive probes and TCP_USER_TIMEOUT, so the kernel gives up about when the heartbeat would.
    func setKeepalive(_ keepalive: TCPKeepalive) throws(SystemError) {
        try socket?.setKeepalive(keepalive)
    }

    /// The outcome of a connect that reported writability: nil when it succeeded.
    func connectError() -> SystemError? {
        socket?.pendingError().map { SystemError(call: "connect", errno: $0) }
    }

    /// Calls `handler` when the socket becomes writable (a non-blocking connect has finished).
    func watchWritable(_ handler: @escaping () -> Void) {
        let source = DispatchSource.makeWriteSource(fileDescriptor: id.rawValue, queue: queue)
        source.setEventHandler(handler: handler)
        adopt(source)
        writeSource = source
    }

    func stopWatchingWritable() {
        writeSource?.cancel()
        writeSource = nil
    }

    /// Calls `handler` whenever there is something to read (level-triggered: again until drained).
    func watchReadable(_ handler: @escaping () -> Void) {
        let source = DispatchSource.makeReadSource(fileDescriptor: id.rawValue, queue: queue)
        source.setEventHandler(handler: handler)
        adopt(source)
        readSource = source
    }

    /// Stops watching and closes the socket. Dispatch forbids closing a descriptor that a source still
    /// watches, so the close waits for the last cancellation handler.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        readSource?.cancel()
        writeSource?.cancel()
        readSource = nil
        writeSource = nil
        if openSources == 0 { socket.take()?.close() }
    }

    private func adopt(_ source: any DispatchSourceProtocol) {
        openSources += 1
        source.setCancelHandler { [self] in
            openSources -= 1
            if openSources == 0 && isClosed { socket.take()?.close() }
        }
        source.resume()
    }
}
