// The one rule for a client id, used by HELLO on the wire, the control socket's verbs and
// `heartbeatctl token`: 1–64 bytes of `A–Z a–z 0–9 . _ : @ -`.

public enum ClientID {
    public static let maxLength = 64
    /// The rule as error messages state it.
    public static let rule = "1-64 bytes of A-Z a-z 0-9 . _ : @ -"

    /// Whether `byte` may appear in an id. Inlinable: the wire parser calls it for every byte of a HELLO.
    @inlinable
    public static func isByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true // A-Z a-z 0-9
        case 0x2E, 0x5F, 0x3A, 0x40, 0x2D: true // . _ : @ -
        default: false
        }
    }

    public static func isValid(_ id: String) -> Bool {
        (1...maxLength).contains(id.utf8.count) && id.utf8.allSatisfy(isByte)
    }
}
