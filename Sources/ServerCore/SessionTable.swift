// A worker's sessions by slot: the dense slot its event loop gave the session's registration
// (`EventLoop.reserve`), not the descriptor number, which every worker of the process shares. So the
// table is as long as this worker's most registrations at once, whatever numbers the other workers hold.
//
//     slot s       lives at pages[s / 1024][s % 1024]; a page is 1024 × 80 B = 80 KiB
//     open         one bit per slot (`occupied`): set while the slot holds an initialized Session
//     lookup O(1) through an addressor (a pointer, no copy); insert and remove O(1), plus one page the first
//     time a slot of a new 1024 is used; the loop reuses freed slots first, so the pages stay as many as
//     the most registrations this worker held at once (kept until the worker ends), never copied
//
// Example, two workers: worker 0 holds fds 7 and 9 in slots 3 and 4 (slots 0-2 are its wake-up,
// mailbox and listener), worker 1 holds fd 8 in slot 3: each has one page, and neither pays for fd 8
// or fds 7 and 9 of the other.
import Posix

struct SessionTable: ~Copyable {
    static let pageSize = 1024
    private var pages: [UnsafeMutablePointer<Session>] = []
    /// Bit `s % 64` of word `s / 64`: whether slot `s` holds a session.
    private var occupied: [UInt64] = []

    init() {}

    /// Sessions still here close their sockets now (Socket's deinit): only a worker that did not drain.
    deinit {
        for slot in slots where isOpen(slot) { entry(slot).deinitialize(count: 1) }
        for page in pages { page.deallocate() }
    }

    /// Every slot the pages have room for; the open ones are those `isOpen` says.
    var slots: Range<Int> { 0..<capacity }

    /// How many slots the pages have room for (this worker's most registrations at once, rounded up to a page).
    var capacity: Int { pages.count * Self.pageSize }

    func isOpen(_ slot: Int) -> Bool {
        slot >= 0 && slot < capacity && occupied[slot >> 6] & (1 << UInt64(slot & 63)) != 0
    }

    /// Whether the session at `slot` is still the one with `serial` (a registry owner or a message names it so).
    func holds(_ slot: Int, serial: UInt32) -> Bool {
        isOpen(slot) && self[slot].serial == serial
    }

    mutating func insert(_ session: consuming Session, at slot: Int) {
        precondition(slot >= 0 && slot < Int(Int32.max), "session slot \(slot) is out of range")
        while slot >= capacity {
            pages.append(.allocate(capacity: Self.pageSize))
            occupied.append(contentsOf: repeatElement(0, count: Self.pageSize / 64))
        }
        precondition(!isOpen(slot), "session slot \(slot) is taken")
        occupied[slot >> 6] |= 1 << UInt64(slot & 63)
        entry(slot).initialize(to: session)
    }

    /// Takes the session out of its slot; nil when the slot is empty (already reaped).
    mutating func remove(_ slot: Int) -> Session? {
        guard isOpen(slot) else { return nil }
        occupied[slot >> 6] &= ~(1 << UInt64(slot & 63))
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

    /// The entry of a slot the pages have room for.
    private func entry(_ slot: Int) -> UnsafeMutablePointer<Session> {
        pages[slot / Self.pageSize] + slot % Self.pageSize
    }
}
