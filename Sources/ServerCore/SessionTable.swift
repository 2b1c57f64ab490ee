// A worker's sessions by slot (the socket's descriptor number). Descriptor numbers are shared by every
// worker of the process, so the sessions themselves sit in dense entries of this worker's own, and a
// small index maps a descriptor number to its entry: a worker's pages hold only its own sessions.
//
//     places[fd]  UInt32, 0 = no session of this worker, else entry + 1     4 B per descriptor number
//     entry e     lives at pages[e / 1024][e % 1024]; a page is 1024 × 80 B = 80 KiB
//     lookup O(1) through an addressor (a pointer, no copy); insert and remove O(1), plus one page per
//     1024 entries; a removed session's entry is reused first, so the pages stay as many as the most
//     sessions this worker held at once (they are kept until the worker ends), never copied when they grow
//
// Example, two workers: worker 0 holds fds 7 and 9, worker 1 holds fd 8. Worker 0's places are
// [0, …, 0, 1, 0, 2] and its page holds two sessions; worker 1's places are [0, …, 0, 1] and its page one.
import Posix

struct SessionTable: ~Copyable {
    static let pageSize = 1024
    /// By descriptor number: the entry holding its session, plus one; 0 when this worker has none there.
    private var places: [UInt32] = []
    private var pages: [UnsafeMutablePointer<Session>] = []
    /// Entries a removed session left, reused last-freed first (its page is the one most likely in cache).
    private var freed: [UInt32] = []
    /// Entries ever handed out; those below it and not in `freed` hold an initialized Session.
    private var used = 0

    init() {}

    /// Sessions still here close their sockets now (Socket's deinit): only a worker that did not drain.
    deinit {
        for slot in slots where isOpen(slot) { entry(slot).deinitialize(count: 1) }
        for page in pages { page.deallocate() }
    }

    /// Every descriptor number the index has room for; the open ones are those `isOpen` says.
    var slots: Range<Int> { 0..<places.count }

    /// How many entries the pages have room for (this worker's most sessions at once, rounded up to a page).
    var capacity: Int { pages.count * Self.pageSize }

    func isOpen(_ slot: Int) -> Bool {
        slots.contains(slot) && places[slot] != 0
    }

    /// Whether the session at `slot` is still the one with `serial` (a registry owner or a message names it so).
    func holds(_ slot: Int, serial: UInt32) -> Bool {
        isOpen(slot) && self[slot].serial == serial
    }

    mutating func insert(_ session: consuming Session, at slot: Int) {
        precondition(slot >= 0 && slot < Int(Int32.max), "session slot \(slot) is not a descriptor number")
        if slot >= places.count { places.append(contentsOf: repeatElement(0, count: slot + 1 - places.count)) }
        precondition(places[slot] == 0, "session slot \(slot) is taken")
        let place: Int
        if let reused = freed.popLast() {
            place = Int(reused)
        } else {
            place = used
            used += 1
            if place == capacity { pages.append(.allocate(capacity: Self.pageSize)) }
        }
        places[slot] = UInt32(place + 1)
        entry(slot).initialize(to: session)
    }

    /// Takes the session out of its slot; nil when the slot is empty (already reaped).
    mutating func remove(_ slot: Int) -> Session? {
        guard isOpen(slot) else { return nil }
        let session = entry(slot).move()
        freed.append(places[slot] - 1)
        places[slot] = 0
        return session
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

    /// The entry of an open slot.
    private func entry(_ slot: Int) -> UnsafeMutablePointer<Session> {
        let place = Int(places[slot]) - 1
        return pages[place / Self.pageSize] + place % Self.pageSize
    }
}
