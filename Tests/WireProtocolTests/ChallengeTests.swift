// Challenge auth on the wire, both directions: CHALLENGE encoded by the server and decoded by a client,
// AUTH encoded by a client and parsed by the server, and every malformed AUTH refused with its detail.
import Testing
import WireProtocol

let nonce: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
let vectorMAC = "424e8e37301f61d7b55c5841f225ded454bbeb50dcae93c229cfc5fee14fc7b7"

@Suite struct ChallengeTests {
    @Test func challengeIsThirtyTwoLowercaseHexDigits() {
        var out: [UInt8] = []
        Reply.appendChallenge(nonce: nonce, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "CHALLENGE 00112233445566778899aabbccddeeff\n")
        out.removeLast()
        #expect(Decoded(String(decoding: out, as: UTF8.self)) == .challenge("00112233445566778899aabbccddeeff"))
    }

    @Test(arguments: [
        "CHALLENGE",
        "CHALLENGE 0011",
        "CHALLENGE 00112233445566778899aabbccddeeff00",
        "CHALLENGE 00112233445566778899aabbccddeefg",
        "CHALLENGE 00112233445566778899aabbccddeeff x",
    ])
    func aMalformedChallengeIsNoChallenge(line: String) {
        #expect(Decoded(line) == .failed(.badLine("CHALLENGE needs 32 hex digits")))
    }

    @Test func authEncodesWhatTheParserReads() {
        var out: [UInt8] = []
        RequestLine.appendAuth(mac: Hex.bytes(Array(vectorMAC.utf8))!, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "AUTH \(vectorMAC)\n")
        #expect(Parsed("AUTH \(vectorMAC)") == .auth(vectorMAC))
    }

    @Test(arguments: [
        ("AUTH \(vectorMAC)", Parsed.auth(vectorMAC)),
        ("AUTH  \(vectorMAC.uppercased()) ", .auth(vectorMAC.uppercased())),
        ("AUTH", .error(.badAuth("AUTH needs 64 hex digits"))),
        ("AUTH \(vectorMAC.dropLast())", .error(.badAuth("AUTH takes 64 hex digits, not 63"))),
        ("AUTH \(vectorMAC)0", .error(.badAuth("AUTH takes 64 hex digits, not 65"))),
        ("AUTH \(vectorMAC.dropLast())g", .error(.badAuth("AUTH has byte 'g'"))),
        ("AUTH \(vectorMAC) more", .error(.badAuth("AUTH takes one word"))),
        ("auth \(vectorMAC)", .other("auth")),
    ])
    func parsesAuth(line: String, expected: Parsed) {
        #expect(Parsed(line) == expected)
    }

    @Test func aBadAuthIsAnsweredAuthFailed() {
        #expect(ProtocolError.badAuth("x").code == .authFailed)
    }

    @Test(arguments: [
        ("", [UInt8]()), ("00ff", [0x00, 0xFF]), ("A0b1", [0xA0, 0xB1]),
    ])
    func hexRoundTrips(text: String, bytes expected: [UInt8]) {
        #expect(Hex.bytes(Array(text.utf8)) == expected)
        #expect(Hex.text(expected) == text.lowercased())
    }

    @Test(arguments: ["0", "0g", "zz"])
    func hexRefusesWhatIsNotHex(text: String) {
        #expect(Hex.bytes(Array(text.utf8)) == nil)
    }
}
