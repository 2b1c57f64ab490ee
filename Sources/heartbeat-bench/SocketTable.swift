// The bench's sockets, one per client slot, in one flat allocation: no object per connection.
import Posix

/// Owns up to `capacity` sockets, addressed by client number. Whatever is still open when the table
/// is destroyed is closed then.
struct SocketTable: ~Copyable {
    private let slots: UnsafeMutablePointer<Socket?>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        for index in 0..<capacity { (slots + index).initialize(to: nil) }
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Stores `socket` for `client`; the slot must be empty.
    func insert(_ socket: consuming Socket, at client: Int) {
        precondition(slots[client]?.id == nil, "socket slot \(client) is taken")
        slots[client] = consume socket
    }

    /// Removes and returns the socket of `client`, so the caller can close it.
    func remove(at client: Int) -> Socket? {
        slots[client].take()
    }

    func id(at client: Int) -> DescriptorID? {
        slots[client]?.id
    }

    func send(_ bytes: UnsafeRawBufferPointer, at client: Int) throws(SystemError) -> IOResult<Int>? {
        try slots[client]?.send(bytes)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at client: Int) throws(SystemError) -> IOResult<Int>? {
        try slots[client]?.read(into: buffer)
    }

    func pendingError(at client: Int) -> Errno? {
        slots[client]?.pendingError()
    }
}
