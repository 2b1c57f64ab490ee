// Before OK: HELLO, and in challenge auth the CHALLENGE/AUTH exchange (docs/protocol.md). Every check runs
// before the registry claim, so a failed one never ends a live session of that id. A pending challenge
// lives in the `challenges` side table by slot until AUTH or the reap; the hello deadline bounds the wait.
import Logging
import Posix
import Primitives
import WireProtocol

/// What a worker keeps between CHALLENGE and AUTH: the HELLO to act on and the nonce as sent (32 hex digits).
struct PendingChallenge {
    let hello: Hello
    let nonce: String
}

extension Worker {
    /// A line from a session that has no id yet. False if the session was reaped.
    func greet(_ slot: Int, _ bytes: UnsafeRawBufferPointer, _ request: Request) -> Bool {
        if let pending = challenges.removeValue(forKey: slot) {
            guard case .auth(let range) = request else {
                refuseAuth(slot, .noAuth, id: pending.hello.id, detail: "expected AUTH <64 hex digits>")
                return false
            }
            // The parser checked: 64 hex digits.
            let mac = Hex.bytes(UnsafeRawBufferPointer(rebasing: bytes[range])) ?? []
            return answered(slot, pending, mac: mac)
        }
        switch request {
        case .hello(let hello):
            return check(slot, hello)
        case .auth:
            refuseAuth(slot, .unexpectedAuth, id: "", detail: "AUTH before CHALLENGE")
        default:
            reapAfterReplies(
                slot, because: .protocol, farewell: .error(.badHello, "the first line must be HELLO <id>"))
        }
        return false
    }

    /// A valid HELLO: refused if not the client certificate's id or revoked, then checked as `[auth] mode` says — at once, or after a CHALLENGE.
    private func check(_ slot: Int, _ hello: Hello) -> Bool {
        // On a TLS listener with client_ca, the id must be the certificate's, whatever the auth mode.
        guard certificateAllows(slot, hello) else { return false }
        if settings.revoked.contains(hello.id) {
            refuseAuth(slot, .revoked, id: hello.id, detail: "revoked")
            return false
        }
        switch settings.auth {
        case .off:
            return identify(slot, hello)
        case .token(let authenticate):
            guard let token = hello.token else {
                refuseAuth(slot, .missingToken, id: hello.id, detail: "token required")
                return false
            }
            guard authenticate(hello.id, token) else {
                refuseAuth(slot, .badToken, id: hello.id)
                return false
            }
            return identify(slot, hello)
        case .challenge:
            // A token here would be the device key itself, sent in the clear: refused, never used.
            guard hello.token == nil else {
                refuseAuth(slot, .unexpectedToken, id: hello.id, detail: "challenge auth: send HELLO without token=")
                return false
            }
            return challenge(slot, hello)
        }
    }

    /// `CHALLENGE <nonce>`: a fresh nonce from getrandom for this connection only.
    private func challenge(_ slot: Int, _ hello: Hello) -> Bool {
        let nonce: [UInt8]
        do {
            nonce = try Random.bytes(count: Reply.nonceLength)
        } catch {
            // No nonce, no guessable stand-in: the client is turned away and retries later.
            logger.error("cannot make a challenge nonce", metadata: ["error": "\(error)"])
            reapAfterReplies(slot, because: .overload, farewell: .error(.serverFull, "no nonce"))
            return false
        }
        challenges[slot] = PendingChallenge(hello: hello, nonce: Hex.text(nonce))
        Reply.appendChallenge(nonce: nonce, to: &output)
        return true
    }

    /// AUTH arrived for the pending challenge (already taken out of the table: one try only).
    private func answered(_ slot: Int, _ pending: PendingChallenge, mac: [UInt8]) -> Bool {
        switch settings.auth {
        case .challenge(let verify):
            guard verify(pending.hello.id, pending.nonce, mac) else {
                refuseAuth(slot, .badMAC, id: pending.hello.id)
                return false
            }
        case .token:
            // A reload switched to hmac while this client was answering: it has no token to show.
            refuseAuth(slot, .missingToken, id: pending.hello.id, detail: "token required")
            return false
        case .off:
            break
        }
        // A reload may have revoked the id since the HELLO.
        if settings.revoked.contains(pending.hello.id) {
            refuseAuth(slot, .revoked, id: pending.hello.id, detail: "revoked")
            return false
        }
        return identify(slot, pending.hello)
    }

    /// After a reload: every session (identified, or waiting with a CHALLENGE) of a revoked id ends, `revoked`.
    func endRevokedSessions() {
        guard !settings.revoked.isEmpty else { return }
        for slot in sessions.slots where sessions.isOpen(slot) {
            guard let id = sessions[slot].id?.description ?? challenges[slot]?.hello.id, settings.revoked.contains(id)
            else {
                continue
            }
            reap(slot, because: .revoked)
        }
    }
}
