// Client auth (DESIGN.md §7): with auth on, HELLO must pass `Settings.authenticate` (heartbeatd checks
// the device key, DeviceKeys). The check runs before the registry claim, so a wrong token can never end
// a live session; failures are counted and logged as one line per peer address and second.
import Logging
import Posix
import WireProtocol

/// Auth failures of one second, by peer address, for one summary line per address: a client
/// retrying with a bad token, or someone guessing, must not write a line per attempt.
struct AuthFailureLog {
    static let window: UInt64 = 1_000_000_000
    /// Addresses kept apart per window; the rest are summed, so a spray from many addresses costs bounded memory.
    static let maxAddresses = 64

    struct Entry {
        var count = 0
        var lastID = ""
    }

    private(set) var byAddress: [HostAddress: (peer: SocketAddress, entry: Entry)] = [:]
    private(set) var others = 0

    /// Counts one failure; true for the first in a window (arm the summary then).
    mutating func count(_ peer: SocketAddress, id: String) -> Bool {
        let first = byAddress.isEmpty && others == 0
        if byAddress[peer.host] == nil, byAddress.count >= Self.maxAddresses {
            others += 1
            return first
        }
        byAddress[peer.host, default: (peer, Entry())].entry.count += 1
        byAddress[peer.host]?.entry.lastID = id
        return first
    }

    /// Hands out the window's counts, one line's worth per address, and starts a new window.
    mutating func take() -> (lines: [(address: String, count: Int, lastID: String)], others: Int) {
        defer {
            byAddress = [:]
            others = 0
        }
        let lines = byAddress.values.map { value in
            (address: hostText(value.peer), count: value.entry.count, lastID: value.entry.lastID)
        }
        return (lines.sorted { $0.address < $1.address }, others)
    }
}

/// "10.0.0.5" or "[::1]": the peer without its port, which changes with every retry.
private func hostText(_ peer: SocketAddress) -> String {
    let text = peer.description
    guard let colon = text.lastIndex(of: ":") else { return text }
    return String(text[..<colon])
}

extension Worker {
    /// With auth on, whether HELLO carries the right token.
    func isAuthentic(_ hello: Hello) -> Bool {
        guard let authenticate = settings.authenticate else { return true }
        return authenticate(hello.id, hello.token)
    }

    /// `ERR auth-failed` and reap `protocol`; the session never got its id, so nothing is replaced.
    func refuseAuth(_ slot: Int, _ hello: Hello) {
        stats.authFailures.add(1, ordering: .relaxed)
        if authFailures.count(sessions[slot].peer, id: hello.id) {
            _ = loop.arm(timers.authSummary, at: loop.now + AuthFailureLog.window)
        }
        reapAfterReplies(
            slot, because: .protocol, farewell: .error(.authFailed, hello.token == nil ? "token required" : ""))
    }

    /// Once a second while tokens fail: one warning per peer address.
    func logAuthFailures() {
        let (lines, others) = authFailures.take()
        for line in lines {
            logger.warning(
                "auth failed \(line.count) time(s) from \(line.address) in the last second (last id \(line.lastID))",
                metadata: [
                    "event": "auth-failed", "peer": "\(line.address)", "client.id": "\(line.lastID)",
                    "count": "\(line.count)",
                ]
            )
        }
        if others > 0 {
            logger.warning(
                "auth failed \(others) more time(s) from other addresses in the last second",
                metadata: ["event": "auth-failed", "count": "\(others)"]
            )
        }
    }
}
