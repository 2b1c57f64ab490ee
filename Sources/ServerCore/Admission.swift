// Admission: how many sessions are open, in all and per peer address, against max_clients and
// max_clients_per_address. Touched on accept and reap only.
import Posix

final class Admission: Sendable {
    private let counts = Locked<(total: Int, perHost: [HostAddress: Int])>((0, [:]))

    /// Counts a new session in; returns false when it takes either count over its limit
    /// (the session is counted all the same, and its reap counts it out).
    func enter(_ host: HostAddress, maxClients: Int, maxPerAddress: Int) -> Bool {
        counts.withLock { counts in
            counts.total += 1
            let fromHost = counts.perHost[host, default: 0] + 1
            counts.perHost[host] = fromHost
            return counts.total <= maxClients && (maxPerAddress == 0 || fromHost <= maxPerAddress)
        }
    }

    func leave(_ host: HostAddress) {
        counts.withLock { counts in
            counts.total -= 1
            let fromHost = counts.perHost[host, default: 1] - 1
            counts.perHost[host] = fromHost == 0 ? nil : fromHost
        }
    }

    /// A session's address turned out to be `to` (a PROXY header): count it there instead of under
    /// `from`; false when `to` is now over max_clients_per_address (counted all the same, as in `enter`).
    func move(from: HostAddress, to: HostAddress, maxPerAddress: Int) -> Bool {
        counts.withLock { counts in
            let fromHost = counts.perHost[from, default: 1] - 1
            counts.perHost[from] = fromHost == 0 ? nil : fromHost
            let toHost = counts.perHost[to, default: 0] + 1
            counts.perHost[to] = toHost
            return maxPerAddress == 0 || toHost <= maxPerAddress
        }
    }

    var total: Int { counts.withLock { $0.total } }
}
