// One accepted connection, from accept to reap: what a worker keeps for it, one value in a slot of
// its SessionTable. Only `Worker.reap` takes it out; no object per session, 80 bytes each.
import Posix
import Primitives
import TimerWheel

/// Fields are ordered so the small ones fill the gaps the large ones leave: 80 bytes. The rare ones
/// live elsewhere: a partial line and unsent replies in the worker's side tables (`partials`, `unsent`).
struct Session: ~Copyable {
    /// The socket, until the reap takes it. Nothing else closes it.
    var socket: Socket?
    /// The connection's peer, or behind a proxy the source its PROXY header names (set once, before HELLO).
    var peer: SocketAddress
    /// Tells this session from a later one in the same slot (see `Owner` for how long that holds).
    let serial: UInt32
    /// When the last heartbeat arrived. A heartbeat only stores this; the wheel re-arms lazily.
    var lastHeard: UInt64
    let connectedAt: UInt64
    /// The id announced in HELLO; nil until then. 16 bytes: a long id is a 48-byte block, not a String's 80.
    var id: ClientID?
    var timer: TimerHandle?
    /// Told `BYE shutdown`; now waiting for the client to close.
    var isDraining = false
    /// The interval granted in HELLO, and the timeout as a multiple of it (timeout_factor is 1...100),
    /// both as they were then: a reload does not change a live session's values.
    var timeoutFactor: UInt8 = 0
    var intervalMilliseconds: UInt32 = 0

    init(socket: consuming Socket, peer: SocketAddress, serial: UInt32, now: UInt64) {
        self.socket = .some(socket)
        self.peer = peer
        self.serial = serial
        self.connectedAt = now
        self.lastHeard = now
    }

    var isIdentified: Bool { id != nil }

    /// The granted interval, in nanoseconds.
    var interval: UInt64 { UInt64(intervalMilliseconds) * 1_000_000 }

    /// How long silence is tolerated, in nanoseconds.
    var timeout: UInt64 { interval * UInt64(timeoutFactor) }

    /// The instant this session times out.
    var deadline: UInt64 { lastHeard + timeout }
}
