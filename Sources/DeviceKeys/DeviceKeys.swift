// The device key: the token a client proves its id with when `[auth] mode = "hmac"` is lowercase hex
// HMAC-SHA256(secret, id). The daemon checks it, `heartbeatctl token` prints it; this is the one copy.
// With `mode = "challenge"` the key stays on the device and AUTH carries HMAC-SHA256(key text, nonce text).

public enum DeviceKey {
    /// HMAC-SHA256 gives 32 bytes: 64 hex digits.
    public static let tokenLength = 64
    /// A shorter key is guessable offline from one observed token.
    public static let minimumSecretLength = 16

    /// The secret as a secret file holds it: its bytes, less one trailing "\n" (what `echo` and
    /// editors add). Nothing else is trimmed: the secret is the operator's bytes.
    public static func secret(fromFileContents contents: [UInt8]) -> [UInt8] {
        contents.last == UInt8(ascii: "\n") ? Array(contents.dropLast()) : contents
    }

    /// Lowercase hex of HMAC-SHA256(key: secret, message: the id's bytes).
    public static func token(secret: [UInt8], id: String) -> String {
        let code = HMACSHA256.code(key: secret, message: Array(id.utf8))
        var text = ""
        text.reserveCapacity(tokenLength)
        for byte in code {
            text.unicodeScalars.append(hexDigits[Int(byte >> 4)])
            text.unicodeScalars.append(hexDigits[Int(byte & 0x0F)])
        }
        return text
    }

    /// Whether `token` is the token for `id`. The expected code is compared in constant time
    /// (CRYPTO_memcmp); what may take varying time — a missing token, a wrong length, a non-hex
    /// digit — depends only on what the client sent, never on the secret.
    public static func matches(_ token: String?, secret: [UInt8], id: String) -> Bool {
        guard let token, token.utf8.count == tokenLength else { return false }
        var code: [UInt8] = []
        code.reserveCapacity(tokenLength / 2)
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
        return constantTimeEquals(code, HMACSHA256.code(key: secret, message: Array(id.utf8)))
    }

    /// The AUTH answer to a CHALLENGE, as 32 bytes: HMAC-SHA256 keyed with the device key's 64 lowercase
    /// hex digits as ASCII (the text `heartbeatctl token` prints, as a device stores it), over the nonce's
    /// 32 hex digits as ASCII, exactly as the CHALLENGE line carried them (docs/protocol.md, test vector).
    public static func challengeResponse(deviceKey: String, nonce: String) -> [UInt8] {
        HMACSHA256.code(key: Array(deviceKey.utf8), message: Array(nonce.utf8))
    }

    /// Whether `mac` (the 32 bytes an AUTH line spelled) answers `nonce` for `id` under `secret`,
    /// compared in constant time.
    public static func answers(_ mac: [UInt8], nonce: String, secret: [UInt8], id: String) -> Bool {
        constantTimeEquals(mac, challengeResponse(deviceKey: token(secret: secret, id: id), nonce: nonce))
    }

    private static let hexDigits: [Unicode.Scalar] = Array("0123456789abcdef".unicodeScalars)

    /// The wire parser lowercases tokens; upper case is taken here too, so the function stands on its own.
    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
