// One accepted connection, from accept to reap. Owned by one worker; only `Worker.reap` ends it.
import Posix
import TimerWheel

final class Session {
    /// The socket, until the reap takes it. Nothing else closes it.
    var socket: Socket?
    let peer: SocketAddress
    /// Unique within its worker: tells this session from a later one that reuses its descriptor number.
    let serial: UInt64
    let connectedAt: UInt64
    /// The id announced in HELLO; nil until then.
    var id: String?
    /// When the last heartbeat arrived. A heartbeat only stores this; the wheel re-arms lazily.
    var lastHeard: UInt64
    var interval: UInt64 = 0
    var timeout: UInt64 = 0
    var timer: TimerHandle?
    /// An incomplete line carried to the next read (at most max_line bytes); empty, and unallocated, otherwise.
    var partial: [UInt8] = []
    /// Reply bytes the kernel would not take yet; past max_line the client is reaped for overload.
    var unsent: [UInt8] = []
    /// Told `BYE shutdown`; now waiting for the client to close.
    var isDraining = false

    /// The descriptor's number, kept apart from the socket so tables can be keyed without borrowing it.
    let descriptor: DescriptorID

    init(socket: consuming Socket, peer: SocketAddress, serial: UInt64, now: UInt64) {
        descriptor = socket.id
        self.socket = .some(socket)
        self.peer = peer
        self.serial = serial
        self.connectedAt = now
        self.lastHeard = now
    }

    var isIdentified: Bool { id != nil }

    /// The instant this session times out.
    var deadline: UInt64 { lastHeard + timeout }
}
