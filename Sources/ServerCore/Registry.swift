import Posix
// Who owns each client id, across all workers: at most one live session per id, the newest wins.
// Touched on HELLO and on reap only (never on a heartbeat), so one lock is cheap enough.
import Primitives

/// A session's address: its worker, its slot there (the worker's loop slot), and its serial, packed in 8 bytes
/// because the registry keeps one per online client:
///
///     bits 56...63   worker   0...255 (`workers` is at most 256)
///     bits 25...55   slot     the worker's loop slot (non-negative Int32)
///     bits  0...24   serial   a worker's serials count up and wrap at 2^25
///
/// The serial only has to tell a session from a later one in the same slot while something still names
/// it: a registry entry, which goes when its session is reaped or replaced, or a message (a takeover, a
/// control query), which its worker handles within a loop turn or so: long before 2^25 more sessions.
struct Owner: Equatable, Sendable {
    static let serialLimit: UInt32 = 1 << 25
    private let bits: UInt64

    init(worker: Int, slot: Int32, serial: UInt32) {
        precondition((0...255).contains(worker) && slot >= 0 && serial < Self.serialLimit, "owner out of range")
        bits = UInt64(worker) << 56 | UInt64(slot) << 25 | UInt64(serial)
    }

    var worker: Int { Int(bits >> 56) }
    var slot: Int32 { Int32(truncatingIfNeeded: bits >> 25 & 0x7FFF_FFFF) }
    var serial: UInt32 { UInt32(truncatingIfNeeded: bits & UInt64(Self.serialLimit - 1)) }
}

final class Registry: Sendable {
    /// `lastSeq` numbers presence events: it is counted under the same lock that orders claims and
    /// releases, so for any one id, seq order is the order its sessions came and went.
    /// Each id's owner with the seq of its `online` event (which names the session across nodes).
    private let state = Locked<(owners: [ClientID: (owner: Owner, seq: UInt64)], lastSeq: UInt64)>(([:], 0))

    /// Makes `owner` the owner of `id`; returns the session it takes over from, if any, and the
    /// seq of the `online` event.
    func claim(_ id: ClientID, for owner: Owner) -> (previous: Owner?, seq: UInt64) {
        state.withLock { state in
            let previous = state.owners[id]?.owner
            state.lastSeq += 1
            state.owners[id] = (owner, state.lastSeq)
            return (previous, state.lastSeq)
        }
    }

    /// Forgets `id` unless a newer session already owns it (then `isReleased` is false: the session
    /// was replaced, the id stays online). `seq` numbers the `offline` or `replaced` event.
    func release(_ id: ClientID, from owner: Owner) -> (isReleased: Bool, seq: UInt64) {
        state.withLock { state in
            let isReleased = state.owners[id]?.owner == owner
            if isReleased { state.owners[id] = nil }
            state.lastSeq += 1
            return (isReleased, state.lastSeq)
        }
    }

    func owner(of id: ClientID) -> Owner? {
        state.withLock { $0.owners[id]?.owner }
    }

    /// The owner of `id` if it is still the session whose `online` event had `seq`.
    func owner(of id: ClientID, claimedAt seq: UInt64) -> Owner? {
        state.withLock { state in
            guard let entry = state.owners[id], entry.seq == seq else { return nil }
            return entry.owner
        }
    }

    /// A session handed over from the previous process takes its id back without an event: nobody
    /// saw it leave. Returns the owner it displaced (none, unless the state was inconsistent).
    /// It is named by the seq current at the hand-off (its own `online` was the old process's).
    func resume(_ id: ClientID, for owner: Owner) -> Owner? {
        state.withLock { state in
            defer { state.owners[id] = (owner, state.lastSeq) }
            return state.owners[id]?.owner
        }
    }

    /// Continues the predecessor's numbering: the next event gets `seq + 1`.
    func continueSeq(after seq: UInt64) {
        state.withLock { $0.lastSeq = max($0.lastSeq, seq) }
    }

    /// A seq for an event that is no session's (`restarted`).
    func nextSeq() -> UInt64 {
        state.withLock { state in
            state.lastSeq += 1
            return state.lastSeq
        }
    }

    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }
}
