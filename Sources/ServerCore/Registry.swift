// Who owns each client id, across all workers: at most one live session per id, the newest wins.
// Touched on HELLO and on reap only (never on a heartbeat), so one lock is cheap enough.
import Synchronization

/// A session's address: its worker, its descriptor slot there, and its serial.
struct Owner: Equatable, Sendable {
    var worker: Int
    var slot: Int32
    var serial: UInt64
}

final class Registry: Sendable {
    private let owners = Mutex<[String: Owner]>([:])

    /// Makes `owner` the owner of `id`; returns the session it takes over from, if any.
    func claim(_ id: String, for owner: Owner) -> Owner? {
        owners.withLock { owners in
            let previous = owners[id]
            owners[id] = owner
            return previous
        }
    }

    /// Forgets `id` unless a newer session already owns it.
    func release(_ id: String, from owner: Owner) {
        owners.withLock { owners in
            if owners[id] == owner { owners[id] = nil }
        }
    }

    func owner(of id: String) -> Owner? {
        owners.withLock { $0[id] }
    }
}
