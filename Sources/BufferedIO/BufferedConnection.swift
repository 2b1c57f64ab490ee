// One non-blocking stream connection on an event loop, with its output queue: bounded, flushed as the
// socket becomes writable, EPOLLOUT watched only while bytes wait, a close deadline on the loop's wheel,
// and the teardown in one place. The control socket's connections and the metrics endpoint use it.
import EventLoop
import Posix
import TimerWheel

public final class BufferedConnection {
    /// Why a connection ended, as `onClose` is told.
    public enum Reason: Equatable, Sendable {
        /// Everything queued went out and the connection was done (its last line, or nothing more to say).
        case done
        /// The peer hung up, or a read or send failed: nothing sent from now on could arrive.
        case failed
        /// More than `limit` bytes would have waited; the owner's last line (if any) was sent first.
        case overflow(limit: Int)
        /// The close deadline passed with bytes still unsent, or before the owner was done.
        case deadline
        /// The owner closed it (the daemon is stopping, say).
        case closed
    }

    /// The descriptor number, which is also the connection's key in its table.
    public let descriptor: DescriptorID
    /// Unsent bytes above this close the connection with `.overflow`.
    public var outputLimit: Int
    /// How long a connection told its last line (`finish`, or the overflow line) gets to take it, in ns.
    public var finishGrace: UInt64 = 5_000_000_000

    /// Called once the queue ran dry during a flush, before it decides to wait or close: the owner may
    /// append more (a long answer encoded a piece at a time as the socket drains).
    public var onDrained: () -> Void = {}
    /// The last bytes to queue when the output limit is hit (a `too-slow` line, say); empty for none.
    public var onOverflow: (Int) -> [UInt8] = { _ in [] }
    /// Called once, at the end of the teardown.
    public var onClose: (Reason) -> Void = { _ in }

    /// Whether readable events are wanted. Off while a request is being answered, after the peer's FIN
    /// and while closing; level-triggered epoll would otherwise report the same bytes every turn.
    public var wantsInput = true {
        didSet { updateInterest() }
    }

    var socket: Socket?
    let serial: UInt32
    private unowned let table: ConnectionTable
    private var output: [UInt8] = []
    private var sent = 0
    private(set) var interest: Readiness
    private var deadline: TimerHandle?
    // Set once the connection is to close when drained, with the reason it will be told.
    private var closing: Reason?
    // `finish` queued the last line: the owner is not asked for more.
    private var isSayingLast = false

    init(socket: consuming Socket, serial: UInt32, table: ConnectionTable, outputLimit: Int, interest: Readiness) {
        descriptor = socket.id
        self.socket = .some(socket)
        self.serial = serial
        self.table = table
        self.outputLimit = outputLimit
        self.interest = interest
    }

    public var isOpen: Bool { socket != nil }
    /// Bytes queued and not yet sent.
    public var unsentCount: Int { output.count - sent }
    /// The connection closes once drained (it said its last line, or was asked to close when done).
    public var isClosing: Bool { closing != nil }

    // MARK: Input

    /// One read into `buffer`. `nil` when the socket failed (the connection is closed with `.failed`).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult<Int>? {
        do {
            return try socket?.read(into: buffer) ?? .done(0)
        } catch {
            close(.failed)
            return nil
        }
    }

    // MARK: Output

    /// Queues `bytes` (call `flush` to send). Past `outputLimit` unsent bytes nothing is queued: the
    /// owner's `onOverflow` line replaces the queue and the connection closes with `.overflow`.
    /// - Returns: false when the limit was hit, the last line was said (`finish`) or the connection closed.
    @discardableResult
    public func append(_ bytes: some Collection<UInt8>) -> Bool {
        guard isOpen, !isSayingLast else { return false }
        if unsentCount + bytes.count > outputLimit {
            finish(last: onOverflow(outputLimit), reason: .overflow(limit: outputLimit))
            return false
        }
        output.append(contentsOf: bytes)
        return true
    }

    /// Says a last thing and closes: everything queued is dropped but the line being sent (its head may
    /// have gone out; cutting it would leave the reader half a line), then `last` is queued. The
    /// connection closes with `reason` once that is sent, or with `.deadline` after `finishGrace`.
    public func finish(last: [UInt8], reason: Reason = .done) {
        guard isOpen, !isSayingLast else { return }
        closeDeadline(at: table.loop.now &+ finishGrace)
        if let newline = output[sent...].firstIndex(of: 0x0A) {
            output.removeSubrange((newline + 1)...)
        } else if sent == 0 {
            output.removeAll(keepingCapacity: true)
        }
        output += last
        closing = reason
        isSayingLast = true
        wantsInput = false
        flush()
    }

    /// Closes with `.done` once everything queued (and whatever `onDrained` adds) has gone out.
    public func closeWhenDrained() {
        guard isOpen, closing == nil else { return }
        closing = .done
        flush()
    }

    /// Closes with `.deadline` at `instant` unless it ended before; a later call moves the deadline.
    public func closeDeadline(at instant: UInt64) {
        guard isOpen else { return }
        if let deadline { table.loop.cancel(deadline) }
        deadline = table.armDeadline(for: self, at: instant)
    }

    /// Sends what the kernel takes; the rest waits for EPOLLOUT. Closes once drained if closing.
    public func flush() {
        guard isOpen else { return }
        while true {
            if unsentCount == 0 {
                output.removeAll(keepingCapacity: output.capacity <= 1 << 16)
                sent = 0
                if !isSayingLast { onDrained() }
                guard unsentCount > 0 else { break }
            }
            let result = output[sent...].withUnsafeBytes { bytes in
                Result { () throws(SystemError) in try socket?.send(bytes) ?? .wouldBlock }
            }
            switch result {
            case .failure:
                close(.failed)
                return
            case .success(.wouldBlock):
                updateInterest()
                return
            case .success(.done(let count)):
                sent += count
                // Sent bytes are dropped once they pile up, so a long stream does not grow the array.
                if sent >= 1 << 16, sent < output.count {
                    output.removeFirst(sent)
                    sent = 0
                }
            }
        }
        if let closing {
            close(closing)
            return
        }
        updateInterest()
    }

    // MARK: Teardown

    /// The one teardown, in this order: cancel the close deadline; remove the descriptor from epoll;
    /// forget the connection in its table; `shutdown(SHUT_WR)` so the peer reads a clean end; close;
    /// tell the owner. A second call does nothing.
    public func close(_ reason: Reason) {
        guard let socket = socket.take() else { return }
        if let deadline { table.loop.cancel(deadline) }
        deadline = nil
        table.loop.unregister(descriptor)
        table.forget(self)
        socket.shutdownWrite()
        socket.close()
        onClose(reason)
    }

    /// The close deadline passed.
    func deadlinePassed() {
        deadline = nil
        close(.deadline)
    }

    /// What epoll is told: readable while input is wanted, writable only while bytes wait.
    private func updateInterest() {
        guard isOpen else { return }
        var next: Readiness = []
        if wantsInput { next.formUnion([.readable, .peerClosed]) }
        if unsentCount > 0 { next.insert(.writable) }
        guard next != interest else { return }
        interest = next
        try? table.loop.modify(descriptor, interest: next)
    }
}
