// Why auth failed, and the log of failures: one line per peer address and second, so a client retrying
// with a bad key, or someone guessing, costs one line, not one per attempt. The flow is Worker+Auth.swift.
import Logging
import Posix
import WireProtocol

/// Why a connection was refused with `ERR auth-failed`: the `reason` label of
/// `heartbeatd_auth_failures_total` and of the `auth-failed` log line. `allCases` drives both.
public enum AuthFailure: String, Sendable, CaseIterable {
    /// hmac: HELLO without `token=`.
    case missingToken = "missing-token"
    /// hmac: a token that is not the id's device key.
    case badToken = "bad-token"
    /// challenge: HELLO carried `token=`, which challenge auth never takes (it would be the key itself).
    case unexpectedToken = "unexpected-token"
    /// challenge: AUTH with the wrong MAC — a wrong key, or an AUTH recorded on another connection.
    case badMAC = "bad-mac"
    /// AUTH that is not one word of 64 hex digits.
    case badAuth = "bad-auth"
    /// AUTH with no CHALLENGE outstanding: before HELLO, or after OK.
    case unexpectedAuth = "unexpected-auth"
    /// challenge: a line other than AUTH where AUTH was due.
    case noAuth = "no-auth"
    /// The id is in `[auth] revoked`.
    case revoked
    /// A TLS listener with `client_ca`: HELLO's id is not the client certificate's common name.
    case certificateMismatch = "certificate-mismatch"
}

/// Auth failures of one second, by peer address, for one summary line per address: a client
/// retrying with a bad token, or someone guessing, must not write a line per attempt.
struct AuthFailureLog {
    static let window: UInt64 = 1_000_000_000
    /// Addresses kept apart per window; the rest are summed, so a spray from many addresses costs bounded memory.
    static let maxAddresses = 64

    struct Entry {
        var count = 0
        var lastID = ""
        var lastFailure = AuthFailure.badToken
    }

    private(set) var byAddress: [HostAddress: (peer: SocketAddress, entry: Entry)] = [:]
    private(set) var others = 0

    /// Counts one failure; true for the first in a window (arm the summary then).
    mutating func count(_ peer: SocketAddress, id: String, failure: AuthFailure) -> Bool {
        let first = byAddress.isEmpty && others == 0
        if byAddress[peer.host] == nil, byAddress.count >= Self.maxAddresses {
            others += 1
            return first
        }
        byAddress[peer.host, default: (peer, Entry())].entry.count += 1
        byAddress[peer.host]?.entry.lastID = id
        byAddress[peer.host]?.entry.lastFailure = failure
        return first
    }

    /// Hands out the window's counts, one line's worth per address, and starts a new window.
    mutating func take() -> (lines: [(address: String, entry: Entry)], others: Int) {
        defer {
            byAddress = [:]
            others = 0
        }
        let lines = byAddress.values.map { value in
            (address: hostText(value.peer), entry: value.entry)
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
    /// `ERR auth-failed [detail]` and reap `protocol`; the session never got its id, so nothing is replaced.
    func refuseAuth(_ slot: Int, _ failure: AuthFailure, id: String, detail: String = "") {
        stats.countAuthFailure(failure)
        if authFailures.count(sessions[slot].peer, id: id, failure: failure) {
            _ = loop.arm(timers.authSummary, at: loop.now + AuthFailureLog.window)
        }
        reapAfterReplies(slot, because: .protocol, farewell: .error(.authFailed, detail))
    }

    /// Once a second while auth fails: one warning per peer address (event `auth-failed`, which has a
    /// journal MESSAGE_ID), and one for the addresses past AuthFailureLog.maxAddresses.
    func logAuthFailures() {
        let (lines, others) = authFailures.take()
        for line in lines {
            let entry = line.entry
            logger.warning(
                "auth failed \(entry.count) time(s) from \(line.address) in the last second (last id \(entry.lastID), \(entry.lastFailure.rawValue))",
                metadata: [
                    "event": "auth-failed", "peer": "\(line.address)", "client.id": "\(entry.lastID)",
                    "count": "\(entry.count)", "reason": "\(entry.lastFailure.rawValue)",
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
