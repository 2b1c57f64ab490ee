// The open buffered connections of one server on one loop, by descriptor number: it registers them,
// routes their readiness and their close deadlines (one timer kind for all of them), and forgets them
// when they close.
import EventLoop
import Posix
import TimerWheel

public final class ConnectionTable {
    let loop: EventLoop
    /// Readable (or the peer's FIN) on a connection that wants input: the owner reads it.
    public var onReadable: (BufferedConnection) -> Void = { _ in }

    private var connections: [Int: BufferedConnection] = [:]
    private var nextSerial: UInt32 = 1
    private var handler: EventLoop.HandlerID!
    private var deadlineTimer: EventLoop.TimerHandlerID!

    public init(loop: EventLoop) {
        self.loop = loop
        handler = loop.addHandler { [unowned self] descriptor, readiness in self.ready(descriptor, readiness) }
        deadlineTimer = loop.addTimerHandler { [unowned self] payload in self.deadlinePassed(payload) }
    }

    public var count: Int { connections.count }
    /// Every open connection, in no order.
    public var all: [BufferedConnection] { Array(connections.values) }

    public subscript(descriptor: DescriptorID) -> BufferedConnection? { connections[descriptor.index] }

    /// Registers `socket` (readable and the peer's FIN) and returns its connection. On failure the
    /// socket is closed and the error thrown.
    public func open(_ socket: consuming Socket, outputLimit: Int = .max) throws(SystemError) -> BufferedConnection {
        let interest: Readiness = [.readable, .peerClosed]
        do {
            try loop.register(socket.id, interest: interest, handler: handler)
        } catch {
            socket.close()
            throw error
        }
        let connection = BufferedConnection(
            socket: socket, serial: nextSerial, table: self, outputLimit: outputLimit, interest: interest)
        nextSerial &+= 1
        connections[connection.descriptor.index] = connection
        return connection
    }

    // A deadline's payload is the connection's serial above its descriptor number: a timer that outlives
    // its connection finds another serial, or none, and does nothing.
    func armDeadline(for connection: BufferedConnection, at instant: UInt64) -> TimerHandle {
        let payload = UInt64(connection.serial) << 32 | UInt64(UInt32(connection.descriptor.index))
        return loop.arm(deadlineTimer, payload, at: instant)
    }

    func forget(_ connection: BufferedConnection) {
        guard connections[connection.descriptor.index] === connection else { return }
        connections[connection.descriptor.index] = nil
    }

    private func deadlinePassed(_ payload: UInt64) {
        let slot = Int(UInt32(truncatingIfNeeded: payload))
        guard let connection = connections[slot], UInt64(connection.serial) == payload >> 32 else { return }
        connection.deadlinePassed()
    }

    /// Error or hang-up ends the connection; writable flushes; then the owner reads, if it wants input.
    private func ready(_ descriptor: DescriptorID, _ readiness: Readiness) {
        guard let connection = connections[descriptor.index] else { return }
        if !readiness.isDisjoint(with: [.error, .hangUp]) {
            // Both directions are gone: nothing sent from now on can arrive.
            connection.close(.failed)
            return
        }
        if readiness.contains(.writable) {
            connection.flush()
            guard connection.isOpen else { return }
        }
        if !readiness.isDisjoint(with: [.readable, .peerClosed]), connection.wantsInput {
            onReadable(connection)
        }
    }
}
