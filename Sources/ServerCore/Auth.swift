// Client auth (DESIGN.md §7): with `[auth] mode = "hmac"`, HELLO must carry token = lowercase hex
// HMAC-SHA256(secret, id). The check runs before the registry claim, so a wrong token can never end a
// live session; failures are counted and logged as one line per peer address and second.
import Crypto
import Logging
import Posix
import WireProtocol

/// The token a client proves its id with. heartbeatctl computes the same (`heartbeatctl token ID`).
public enum ClientToken {
    /// HMAC-SHA256 gives 32 bytes: 64 hex digits.
    public static let length = 64
    /// A shorter key is guessable offline from one observed token.
    public static let minimumSecretLength = 16

    /// The secret as a secret file holds it: its bytes, less one trailing "\n" (what `echo` and
    /// editors add). Nothing else is trimmed: the secret is the operator's bytes.
    public static func secret(fromFileContents contents: [UInt8]) -> [UInt8] {
        contents.last == UInt8(ascii: "\n") ? Array(contents.dropLast()) : contents
    }

    /// Lowercase hex of HMAC-SHA256(key: secret, message: the id's bytes).
    public static func make(secret: [UInt8], id: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: SymmetricKey(data: secret))
        var text = ""
        text.reserveCapacity(length)
        for byte in code {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return text
    }

    /// Whether `token` is the token for `id`. The comparison with the expected code is swift-crypto's
    /// constant-time one (`isValidAuthenticationCode`); what may take varying time — a missing token,
    /// a wrong length, a non-hex digit — depends only on what the client sent, never on the secret.
    public static func matches(_ token: String?, secret: [UInt8], id: String) -> Bool {
        guard let token, token.utf8.count == length else { return false }
        var code: [UInt8] = []
        code.reserveCapacity(length / 2)
        var high: UInt8?
        for character in token.utf8 {
            guard let nibble = hexValue(character) else { return false }
            if let first = high {
                code.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Array(id.utf8), using: SymmetricKey(data: secret))
    }

    private static let hexDigits = Array("0123456789abcdef")

    /// The parser lowercases tokens; upper case is taken here too, so the function stands on its own.
    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
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
    /// With auth on, whether HELLO carries the right token. No secret (it could not be read) fails closed.
    func isAuthentic(_ hello: Hello) -> Bool {
        guard settings.requiresToken else { return true }
        guard let secret = settings.authSecret else { return false }
        return ClientToken.matches(hello.token, secret: secret, id: hello.id)
    }

    /// `ERR auth-failed` and reap `protocol`; the session never got its id, so nothing is replaced.
    func refuseAuth(_ slot: Int, _ hello: Hello) {
        stats.authFailures.add(1, ordering: .relaxed)
        if authFailures.count(sessions[slot].peer, id: hello.id) {
            _ = loop.arm(timers.authSummary, at: loop.now + AuthFailureLog.window)
        }
        reapAfterReplies(slot, because: .protocol, farewell: .error(.authFailed, hello.token == nil ? "token required" : ""))
    }

    /// Once a second while tokens fail: one warning per peer address.
    func logAuthFailures() {
        let (lines, others) = authFailures.take()
        for line in lines {
            logger.warning(
                "auth failed \(line.count) time(s) from \(line.address) in the last second (last id \(line.lastID))",
                metadata: ["event": "auth-failed", "peer": "\(line.address)", "client.id": "\(line.lastID)", "count": "\(line.count)"]
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
