// The state a running heartbeatd hands to its successor (restart through systemd's fd store, or an
// in-place `execve`): every session's fields and the listeners, in one versioned, checksummed blob
// carried in a memfd beside the sockets. Pure: bytes in, bytes out.
//
//     header   "HBST" · version u16 · flags u16 · body length u32
//     body     saved_at u64 (CLOCK_MONOTONIC ns) · last_seq u64 · worker count u16 · next serial u32 per
//              worker · listener count u32 · listeners · session count u32 · sessions
//     trailer  FNV-1a 64 of header and body
//
// Integers are little-endian. Instants are CLOCK_MONOTONIC nanoseconds, which run on across a restart
// (same boot; a saved_at ahead of the reader's clock means another boot, and the blob is refused).
// A session's local address may be family 0 (not recorded): then no other record has its peer.
// Version 2; version 1 (every local address recorded) is still read.
// A session's deadline is not stored: it is last_heard + interval × timeout factor, as in `Session`.
// A reader takes its own version and 1; anything else is `HandoffError.otherVersion`.

/// An address as the kernel keeps it: family 4 or 6, 16 bytes (IPv4 in the first four), a port.
public struct HandoffAddress: Equatable, Hashable, Sendable {
    public var family: UInt8
    public var bytes: [UInt8]
    public var port: UInt16

    public init(family: UInt8, bytes: [UInt8], port: UInt16) {
        self.family = family
        // Padded only when short: a takeover makes two of these per session, and a copy each showed.
        self.bytes = bytes.count >= 16 ? bytes : bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
        self.port = port
    }

    /// A session's local address left out: its peer is unique in the state, and names the connection alone.
    public static let unrecorded = HandoffAddress(family: 0, bytes: [], port: 0)

    public var isUnrecorded: Bool { family == 0 }

    /// The 16 address bytes in one go: a takeover hashes two addresses per session, and `Hasher` fed
    /// byte by byte was a visible share of it at 15,000 sessions.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// One connection, as a takeover matches a socket to its record: its peer and its local address.
public struct HandoffConnection: Hashable, Sendable {
    public var peer: HandoffAddress
    public var local: HandoffAddress

    public init(peer: HandoffAddress, local: HandoffAddress) {
        self.peer = peer
        self.local = local
    }
}

public struct HandoffState: Equatable, Sendable {
    public static let magic: [UInt8] = Array("HBST".utf8)
    public static let version: UInt16 = 2
    /// The most sessions and listeners a blob may describe: more than any descriptor limit allows.
    public static let maxRecords = 1 << 22
    /// Bytes an id, a partial line or unsent replies may take in a record (the daemon caps them far lower).
    public static let maxField = 1 << 20

    public struct Listener: Equatable, Sendable {
        /// The descriptor number in the process that saved it (kept by `execve`).
        public var descriptor: Int32
        /// The worker it belonged to; nil for a socket shared by every worker (socket activation).
        public var worker: Int?
        public var address: HandoffAddress

        public init(descriptor: Int32, worker: Int?, address: HandoffAddress) {
            self.descriptor = descriptor
            self.worker = worker
            self.address = address
        }
    }

    public struct Session: Equatable, Sendable {
        public var descriptor: Int32
        public var worker: Int
        public var id: String
        public var serial: UInt32
        public var intervalMilliseconds: UInt32
        public var timeoutFactor: UInt8
        public var lastHeard: UInt64
        public var connectedAt: UInt64
        public var peer: HandoffAddress
        /// The local end: with `peer` it names the TCP connection, which is how a socket that comes back
        /// from the fd store (under another number) finds its record. `unrecorded` when no other record
        /// has the same peer (`getsockname` per session cost 2–3 µs at the freeze, on every beat's path).
        public var local: HandoffAddress
        /// Replies the kernel had not taken yet, and an incomplete line read so far.
        public var unsent: [UInt8]
        public var partial: [UInt8]

        public init(
            descriptor: Int32, worker: Int, id: String, serial: UInt32, intervalMilliseconds: UInt32,
            timeoutFactor: UInt8, lastHeard: UInt64, connectedAt: UInt64, peer: HandoffAddress,
            local: HandoffAddress, unsent: [UInt8] = [], partial: [UInt8] = []
        ) {
            self.descriptor = descriptor
            self.worker = worker
            self.id = id
            self.serial = serial
            self.intervalMilliseconds = intervalMilliseconds
            self.timeoutFactor = timeoutFactor
            self.lastHeard = lastHeard
            self.connectedAt = connectedAt
            self.peer = peer
            self.local = local
            self.unsent = unsent
            self.partial = partial
        }

        /// The instant it times out, as the worker computes it.
        public var deadline: UInt64 {
            lastHeard &+ UInt64(intervalMilliseconds) * 1_000_000 * UInt64(timeoutFactor)
        }
    }

    public var savedAt: UInt64
    /// The presence `seq` last handed out: the successor's first event is `lastSeq + 1`.
    public var lastSeq: UInt64
    /// Each worker's next session serial, so a new session never repeats a restored one's.
    public var nextSerials: [UInt32]
    public var listeners: [Listener]
    public var sessions: [Session]

    public init(
        savedAt: UInt64, lastSeq: UInt64, nextSerials: [UInt32], listeners: [Listener] = [],
        sessions: [Session] = []
    ) {
        self.savedAt = savedAt
        self.lastSeq = lastSeq
        self.nextSerials = nextSerials
        self.listeners = listeners
        self.sessions = sessions
    }
}
