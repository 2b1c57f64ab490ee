// Challenge auth on the client: the device key as configured, checked once, and the AUTH line it makes for a
// server's nonce. HMAC-SHA256 comes from swift-crypto (CryptoKit on Apple platforms; docs/design.md says why).
import Crypto
import WireProtocol

extension HeartbeatClient {
    /// A device key for challenge auth: the 64 hex digits `heartbeatctl token <id>` prints. It never crosses
    /// the wire; each connection proves it with `AUTH <HMAC-SHA256(key text, nonce text)>` (docs/protocol.md).
    public struct DeviceKey: Sendable, Equatable, CustomStringConvertible {
        /// A device key is HMAC-SHA256(secret, id) as hex: 64 digits.
        public static let length = 64

        /// The key as the MAC's key uses it: 64 lowercase hex digits, as ASCII.
        let text: [UInt8]

        /// Accepts the key in either case (the MAC is keyed with its lowercase form, as the server's is); nil
        /// for anything but 64 hex digits.
        public init?(_ text: String) {
            let bytes = Array(text.utf8)
            guard bytes.count == Self.length, let value = Hex.bytes(bytes) else { return nil }
            self.text = Array(Hex.text(value).utf8)
        }

        /// Never the key itself, so that a logged configuration does not leak it.
        public var description: String { "DeviceKey(…)" }

        /// `AUTH <mac>\n` for the nonce a `CHALLENGE` line carried (its 32 hex digits, exactly as sent).
        func authLine(nonce: String) -> [UInt8] {
            let code = HMAC<SHA256>.authenticationCode(for: Array(nonce.utf8), using: SymmetricKey(data: text))
            var line: [UInt8] = []
            RequestLine.appendAuth(mac: Array(code), to: &line)
            return line
        }
    }
}
