// A worker's sessions by slot (the socket's descriptor number), in fixed pages allocated as the
// descriptor numbers reach them: growing never copies the sessions already there, and leaves at most
// one partly used page, where a doubling array would leave up to half its capacity unused.
//
//     slot s lives at pages[s / 1024][s % 1024]; a page is 1024 × 80 B = 80 KiB
//     a bit per slot says whether it holds a session: only those slots are initialized memory
//     lookup O(1) through an addressor (a pointer, no copy); insert and remove O(1), plus one page
//     allocation per 1024 new slots; pages are kept until the worker ends (descriptor numbers are
//     reused lowest first, so the table stays as dense as the descriptors)
import Posix

struct SessionTable: ~Copyable {
    static let pageSize = 1024
    private var pages: [UnsafeMutablePointer<Session>] = []
    /// One bit per slot, set while the slot holds an initialized Session.
    private var occupied: [UInt64] = []

    init() {}

    /// Sessions still here close their sockets now (Socket's deinit): only a worker that did not drain.
    deinit {
        for slot in slots where isOpen(slot) { entry(slot).deinitialize(count: 1) }
        for page in pages { page.deallocate() }
    }

    /// Every slot the pages have room for; the open ones are those `isOpen` says.
    var slots: Range<Int> { 0..<pages.count * Self.pageSize }

    func isOpen(_ slot: Int) -> Bool {
        slots.contains(slot) && occupied[slot / 64] & Self.bit(slot) != 0
    }

    /// Whether the session at `slot` is still the one with `serial` (a registry owner or a message names it so).
    func holds(_ slot: Int, serial: UInt32) -> Bool {
        isOpen(slot) && self[slot].serial == serial
    }

    mutating func insert(_ session: consuming Session, at slot: Int) {
        while slot >= slots.upperBound {
            pages.append(.allocate(capacity: Self.pageSize))
            occupied.append(contentsOf: repeatElement(0, count: Self.pageSize / 64))
        }
        precondition(!isOpen(slot), "session slot \(slot) is taken")
        entry(slot).initialize(to: session)
        occupied[slot / 64] |= Self.bit(slot)
    }

    /// Takes the session out of its slot; nil when the slot is empty (already reaped).
    mutating func remove(_ slot: Int) -> Session? {
        guard isOpen(slot) else { return nil }
        occupied[slot / 64] &= ~Self.bit(slot)
        return entry(slot).move()
    }

    /// The open session at `slot`, read or changed in place. Addressors rather than `_read`/`_modify`:
    /// a plain pointer, so the heartbeat path neither copies a session nor allocates a coroutine frame.
    subscript(slot: Int) -> Session {
        unsafeAddress {
            precondition(isOpen(slot), "no session in slot \(slot)")
            return UnsafePointer(entry(slot))
        }
        unsafeMutableAddress {
            precondition(isOpen(slot), "no session in slot \(slot)")
            return entry(slot)
        }
    }

    private func entry(_ slot: Int) -> UnsafeMutablePointer<Session> {
        pages[slot / Self.pageSize] + slot % Self.pageSize
    }

    private static func bit(_ slot: Int) -> UInt64 { 1 << UInt64(slot % 64) }
}
