// One TCP connection of a client with its Dispatch readiness sources, and the rule that keeps them
// safe: the descriptor is closed only after every source watching it has finished cancelling.
import Dispatch

/// A socket plus the sources that watch it, all used on the client's serial queue only.
final class Connection: @unchecked Sendable {
    // @unchecked: created, used and closed on the owning Engine's serial queue; Dispatch calls the
    // handlers on that same queue.
    let socket: ClientSocket
    let address: ResolvedAddress
    /// Bytes received but not yet framed into a complete line.
    var input: [UInt8] = []

    private let queue: DispatchQueue
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var openSources = 0
    private var isClosed = false

    init(socket: ClientSocket, address: ResolvedAddress, queue: DispatchQueue) {
        self.socket = socket
        self.address = address
        self.queue = queue
    }

    /// Calls `handler` when the socket becomes writable (a non-blocking connect has finished).
    func watchWritable(_ handler: @escaping () -> Void) {
        let source = DispatchSource.makeWriteSource(fileDescriptor: socket.fd, queue: queue)
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
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: queue)
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
        if openSources == 0 { socket.close() }
    }

    private func adopt(_ source: any DispatchSourceProtocol) {
        openSources += 1
        source.setCancelHandler { [self] in
            openSources -= 1
            if openSources == 0 && isClosed { socket.close() }
        }
        source.resume()
    }
}
