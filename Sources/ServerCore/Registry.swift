// Who owns each client id, across all workers: at most one live session per id, the newest wins.
// Touched on HELLO and on reap only (never on a heartbeat), so one lock is cheap enough.
import Synchronization

/// A session's address: its worker, its descriptor slot there, and its serial.
/// 16 bytes: one is kept per online client.
struct Owner: Equatable, Sendable {
    private var workerIndex: Int32
    var slot: Int32
    var serial: UInt64

    init(worker: Int, slot: Int32, serial: UInt64) {
        workerIndex = Int32(worker)
        self.slot = slot
        self.serial = serial
    }

    var worker: Int { Int(workerIndex) }
}

final class Registry: Sendable {
    /// `lastSeq` numbers presence events: it is counted under the same lock that orders claims and
    /// releases, so for any one id, seq order is the order its sessions came and went.
    private let state = Mutex<(owners: [String: Owner], lastSeq: UInt64)>(([:], 0))

    /// Makes `owner` the owner of `id`; returns the session it takes over from, if any, and the
    /// seq of the `online` event.
    func claim(_ id: String, for owner: Owner) -> (previous: Owner?, seq: UInt64) {
        state.withLock { state in
            let previous = state.owners[id]
            state.owners[id] = owner
            state.lastSeq += 1
            return (previous, state.lastSeq)
        }
    }

    /// Forgets `id` unless a newer session already owns it (then `isReleased` is false: the session
    /// was replaced, the id stays online). `seq` numbers the `offline` or `replaced` event.
    func release(_ id: String, from owner: Owner) -> (isReleased: Bool, seq: UInt64) {
        state.withLock { state in
            let isReleased = state.owners[id] == owner
            if isReleased { state.owners[id] = nil }
            state.lastSeq += 1
            return (isReleased, state.lastSeq)
        }
    }

    func owner(of id: String) -> Owner? {
        state.withLock { $0.owners[id] }
    }
}
