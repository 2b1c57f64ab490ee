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

// The compact value: forms, equality and hashing, the text round trip, the limits.
private let lengths = [1, 2, 7, 8, 14, 15, 16, 17, 23, 24, 25, 36, 40, 41, 63, 64]

private func id(_ count: Int, last: Character = "z") -> String {
    String(repeating: "a", count: count - 1) + String(last)
}

@Test(arguments: lengths)
func idsRoundTripThroughText(count: Int) throws {
    let text = id(count)
    let id = try #require(ClientID(text))
    #expect(id.count == count)
    #expect(id.isInline == (count <= ClientID.inlineCapacity))
    #expect(id.description == text)
    #expect("\(id)" == text)
    #expect(id.withBytes { Array($0) } == Array(text.utf8))
    #expect(ClientID(bytes: Array(text.utf8)) == id)
}

@Test func theFormChangesAtTheInlineCapacity() throws {
    #expect(try #require(ClientID(id(15))).isInline)
    #expect(try !#require(ClientID(id(16))).isInline)
}

@Test(arguments: lengths)
func equalIdsAreEqualAndHashAlike(count: Int) throws {
    let a = try #require(ClientID(id(count)))
    // Built apart, so a heap id's block is another object with the same bytes.
    let b = try #require(ClientID(bytes: Array(id(count).utf8)))
    #expect(a == b)
    #expect(a.hashValue == b.hashValue)
    #expect(a != ClientID(id(count, last: "y")))
    for other in lengths where other != count {
        #expect(a != ClientID(id(other)))
    }
}

@Test func idsKeyADictionaryAcrossForms() throws {
    var owners: [ClientID: Int] = [:]
    for count in lengths { owners[try #require(ClientID(id(count)))] = count }
    for count in lengths { #expect(owners[try #require(ClientID(id(count)))] == count) }
    #expect(owners.count == lengths.count)
}

@Test(arguments: [
    "", String(repeating: "i", count: 65), "a b", "é", "a/b", "dev\n", String(repeating: "i", count: 64) + "/",
])
func invalidTextMakesNoID(text: String) {
    #expect(ClientID(text) == nil)
    #expect(ClientID(bytes: Array(text.utf8)) == nil)
}

@Test func anIDIsSixteenBytesAndSoIsAnOptionalOne() {
    // What the daemon's memory per client counts on (docs/capacity.md): the case shares spare bits.
    #expect(MemoryLayout<ClientID>.size == 16)
    #expect(MemoryLayout<ClientID?>.size == 16)
}
