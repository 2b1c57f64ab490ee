// HandoffState to bytes and back (the layout is in HandoffState.swift). Decoding checks everything it
// can before it trusts a byte: magic, version, length, checksum, then every count and field against
// the bytes left and the limits, and the records against each other. Both run while every session
// waits (15,000 records, about 1.3 MB): integers go in and out whole, and the buffer is sized once.

extension HandoffState {
    public func encoded() -> [UInt8] {
        // Sized once: header, counts and trailer, 25 bytes a listener, 81 a session plus its fields.
        let headerSize = Self.magic.count + 8
        let fields = sessions.reduce(0) { $0 + $1.id.utf8.count + $1.unsent.count + $1.partial.count }
        var out = Writer(
            capacity: headerSize + 26 + 4 * nextSerials.count + 25 * listeners.count + 81 * sessions.count + fields
                + 8)
        out.bytes += Self.magic
        out.u16(Self.version)
        out.u16(0)
        out.u32(0) // the body's length, set below
        out.u64(savedAt)
        out.u64(lastSeq)
        out.u16(UInt16(truncatingIfNeeded: nextSerials.count))
        for serial in nextSerials { out.u32(serial) }
        out.u32(UInt32(truncatingIfNeeded: listeners.count))
        for listener in listeners {
            out.i32(listener.descriptor)
            out.u16(listener.worker.map { UInt16(truncatingIfNeeded: $0) } ?? Self.sharedWorker)
            out.address(listener.address)
        }
        out.u32(UInt32(truncatingIfNeeded: sessions.count))
        for session in sessions {
            out.i32(session.descriptor)
            out.u16(UInt16(truncatingIfNeeded: session.worker))
            out.u32(session.serial)
            out.u32(session.intervalMilliseconds)
            out.u8(session.timeoutFactor)
            out.u64(session.lastHeard)
            out.u64(session.connectedAt)
            out.address(session.peer)
            out.address(session.local)
            out.field(session.id.utf8)
            out.field(session.unsent)
            out.field(session.partial)
        }
        let length = UInt32(truncatingIfNeeded: out.bytes.count - headerSize)
        for shift in 0..<4 { out.bytes[headerSize - 4 + shift] = UInt8(truncatingIfNeeded: length >> (8 * shift)) }
        out.u64(fnv1a(out.bytes[...]))
        return out.bytes
    }

    /// The state in `bytes`, or the first thing wrong with them. `now` (monotonic ns) rejects a blob
    /// from the future, i.e. from another boot.
    public static func decode(_ bytes: [UInt8], now: UInt64) throws(HandoffError) -> HandoffState {
        let headerSize = magic.count + 8
        guard bytes.count >= headerSize + 8 else { throw .truncated(size: bytes.count) }
        guard Array(bytes[0..<magic.count]) == magic else { throw .notState }
        var header = Reader(bytes[magic.count..<headerSize])
        let version = try header.u16()
        // Version 1 is version 2 with every local address recorded: still read, so an upgrade from it keeps
        // the sessions (family 0 in one is refused as in any address).
        guard version == Self.version || version == 1 else {
            throw .otherVersion(found: version, expected: Self.version)
        }
        _ = try header.u16()
        let length = Int(try header.u32())
        guard bytes.count == headerSize + length + 8 else { throw .truncated(size: bytes.count) }
        var trailer = Reader(bytes[(headerSize + length)...])
        guard try trailer.u64() == fnv1a(bytes[..<(headerSize + length)]) else { throw .checksum }

        var body = Reader(bytes[headerSize..<(headerSize + length)])
        let savedAt = try body.u64()
        guard savedAt <= now else { throw .inconsistent("saved at a later instant than now (another boot?)") }
        let lastSeq = try body.u64()
        let workers = Int(try body.u16())
        guard workers > 0 else { throw .inconsistent("no workers") }
        var nextSerials: [UInt32] = []
        for _ in 0..<workers { nextSerials.append(try body.u32()) }
        var state = HandoffState(savedAt: savedAt, lastSeq: lastSeq, nextSerials: nextSerials)
        for _ in 0..<(try body.count()) {
            let descriptor = try body.i32()
            let worker = try body.u16()
            guard worker == sharedWorker || Int(worker) < workers else { throw .inconsistent("listener worker") }
            state.listeners.append(
                Listener(
                    descriptor: descriptor, worker: worker == sharedWorker ? nil : Int(worker),
                    address: try body.address()))
        }
        for _ in 0..<(try body.count()) {
            let descriptor = try body.i32()
            let worker = Int(try body.u16())
            guard worker < workers else { throw .inconsistent("session worker \(worker) of \(workers)") }
            let serial = try body.u32()
            let interval = try body.u32()
            let factor = try body.u8()
            let lastHeard = try body.u64()
            let connectedAt = try body.u64()
            guard connectedAt <= lastHeard, lastHeard <= savedAt else { throw .inconsistent("session instants") }
            let peer = try body.address()
            let local = try body.address(unrecorded: version >= 2)
            let id = try body.field()
            guard !id.isEmpty, let text = String(validating: id, as: UTF8.self) else {
                throw .inconsistent("session id")
            }
            state.sessions.append(
                Session(
                    descriptor: descriptor, worker: worker, id: text, serial: serial, intervalMilliseconds: interval,
                    timeoutFactor: factor, lastHeard: lastHeard, connectedAt: connectedAt, peer: peer, local: local,
                    unsent: try body.field(), partial: try body.field()))
        }
        guard body.isAtEnd else { throw .inconsistent("bytes after the last record") }
        try state.checkUnique()
        return state
    }

    static let sharedWorker: UInt16 = 0xFFFF

    /// Two records naming one descriptor, one connection or one id cannot both be true.
    private func checkUnique() throws(HandoffError) {
        var descriptors = Set<Int32>(minimumCapacity: listeners.count + sessions.count)
        var connections = Set<HandoffConnection>(minimumCapacity: sessions.count)
        var ids = Set<String>(minimumCapacity: sessions.count)
        // Peers of records without a local address, and of those with one: the first kind names its
        // connection by the peer alone, so no other record may have that peer.
        var peersAlone = Set<HandoffAddress>()
        var peersWithLocal = Set<HandoffAddress>()
        for listener in listeners {
            guard descriptors.insert(listener.descriptor).inserted else { throw .inconsistent("descriptor twice") }
        }
        for session in sessions {
            guard descriptors.insert(session.descriptor).inserted else { throw .inconsistent("descriptor twice") }
            guard connections.insert(HandoffConnection(peer: session.peer, local: session.local)).inserted else {
                throw .inconsistent("connection twice")
            }
            guard ids.insert(session.id).inserted else { throw .inconsistent("id \(session.id) twice") }
            if session.local.isUnrecorded {
                guard !peersWithLocal.contains(session.peer) else {
                    throw .inconsistent("peer twice, one without local")
                }
                peersAlone.insert(session.peer)
            } else {
                guard !peersAlone.contains(session.peer) else { throw .inconsistent("peer twice, one without local") }
                peersWithLocal.insert(session.peer)
            }
        }
    }
}

/// FNV-1a, 64 bits: catches a torn or truncated write; not a defence against a forger (the memfd
/// comes from our own process or from systemd on our behalf).
func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    bytes.withUnsafeBufferPointer { buffer in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in buffer {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

private struct Writer {
    var bytes: [UInt8] = []
    init(capacity: Int) { bytes.reserveCapacity(capacity) }
    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { little(value) }
    mutating func u32(_ value: UInt32) { little(value) }
    mutating func i32(_ value: Int32) { little(UInt32(bitPattern: value)) }
    mutating func u64(_ value: UInt64) { little(value) }
    mutating func field(_ value: some Collection<UInt8>) {
        u32(UInt32(truncatingIfNeeded: value.count))
        bytes += value
    }
    mutating func address(_ value: HandoffAddress) {
        u8(value.family)
        bytes += value.bytes.prefix(16)
        u16(value.port)
    }
    private mutating func little(_ value: some FixedWidthInteger) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

private struct Reader {
    private let bytes: ArraySlice<UInt8>
    private var at: Int
    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        at = bytes.startIndex
    }
    var isAtEnd: Bool { at == bytes.endIndex }

    mutating func take(_ count: Int) throws(HandoffError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.endIndex - at >= count else { throw .inconsistent("a record runs past the end") }
        defer { at += count }
        return bytes[at..<(at + count)]
    }
    mutating func u8() throws(HandoffError) -> UInt8 { try little() }
    mutating func u16() throws(HandoffError) -> UInt16 { try little() }
    mutating func u32() throws(HandoffError) -> UInt32 { try little() }
    mutating func i32() throws(HandoffError) -> Int32 { Int32(bitPattern: try little()) }
    mutating func u64() throws(HandoffError) -> UInt64 { try little() }
    mutating func count() throws(HandoffError) -> Int {
        let count = Int(try u32())
        guard count <= HandoffState.maxRecords else { throw .inconsistent("\(count) records") }
        return count
    }
    mutating func field() throws(HandoffError) -> [UInt8] {
        let count = Int(try u32())
        guard count <= HandoffState.maxField else { throw .inconsistent("a \(count)-byte field") }
        return Array(try take(count))
    }
    /// `unrecorded`: family 0 (a session's local address left out) is allowed, with nothing else set.
    mutating func address(unrecorded: Bool = false) throws(HandoffError) -> HandoffAddress {
        let family = try u8()
        let raw = Array(try take(16))
        let port = try u16()
        if unrecorded, family == 0 {
            guard port == 0, raw.allSatisfy({ $0 == 0 }) else {
                throw .inconsistent("an unrecorded address with bytes")
            }
            return .unrecorded
        }
        guard family == 4 || family == 6 else { throw .inconsistent("address family \(family)") }
        return HandoffAddress(family: family, bytes: raw, port: port)
    }
    private mutating func little<Value: FixedWidthInteger>() throws(HandoffError) -> Value {
        let size = MemoryLayout<Value>.size
        guard bytes.endIndex - at >= size else { throw .inconsistent("a record runs past the end") }
        let offset = at - bytes.startIndex
        at += size
        return Value(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) })
    }
}
