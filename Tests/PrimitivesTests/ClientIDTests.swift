// The one client-id rule, as HELLO, the control socket and `heartbeatctl token` apply it.
import Primitives
import Testing

private let id64 = String(repeating: "i", count: 64)

@Test(arguments: [
    ("dev-1", true), ("a.b_c:d@e-F9", true), (id64, true), ("x", true),
    ("", false), ("a b", false), ("é", false), ("a/b", false), ("a\n", false), (id64 + "i", false),
])
func clientIDs(id: String, isValid: Bool) {
    #expect(ClientID.isValid(id) == isValid)
}

@Test func idBytesAreExactlyTheDocumentedSet() {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-".utf8)
    for byte in UInt8.min...UInt8.max {
        #expect(ClientID.isByte(byte) == allowed.contains(byte), "byte \(byte)")
    }
}
