// The device key against known answers: RFC 4231's HMAC-SHA256 vector, and a token computed outside
// with `openssl dgst`, so a change of library cannot change a single client's token.
import DeviceKeys
import Testing

@Suite struct DeviceKeyTests {
    @Test func hmacSHA256MatchesRFC4231TestCase2() {
        let code = HMACSHA256.code(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(hex(code) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// printf 'sensor-42.lab@site:7' | openssl dgst -sha256 -hmac '0123456789abcdef-test-secret'
    @Test func tokenIsTheLowercaseHexHMACOfTheID() {
        let secret = Array("0123456789abcdef-test-secret".utf8)
        let token = DeviceKey.token(secret: secret, id: "sensor-42.lab@site:7")
        #expect(token == "c2fc8159493a13eee98d3a7764b5e18943eee39e1aea429e3d7a870f1fe3e83f")
        #expect(token.utf8.count == DeviceKey.tokenLength)
    }

    @Test func matchesItsOwnTokenInEitherCase() {
        let secret = Array("a secret of sixteen+ bytes".utf8)
        let token = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(DeviceKey.matches(token, secret: secret, id: "dev-1"))
        #expect(DeviceKey.matches(token.uppercased(), secret: secret, id: "dev-1"))
    }

    @Test func refusesEveryOtherToken() {
        let secret = Array("a secret of sixteen+ bytes".utf8)
        let token = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(!DeviceKey.matches(nil, secret: secret, id: "dev-1"))
        #expect(!DeviceKey.matches(token, secret: secret, id: "dev-2"))
        #expect(!DeviceKey.matches(token, secret: Array("another secret, 16+ bytes".utf8), id: "dev-1"))
        #expect(!DeviceKey.matches(String(token.dropLast()), secret: secret, id: "dev-1"))
        #expect(!DeviceKey.matches(token + "0", secret: secret, id: "dev-1"))
        #expect(!DeviceKey.matches(String(token.dropLast()) + "g", secret: secret, id: "dev-1"))
        let flipped = String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")
        #expect(!DeviceKey.matches(flipped, secret: secret, id: "dev-1"))
    }

    @Test(arguments: [
        ("secret\n", "secret"), ("secret", "secret"), ("secret\n\n", "secret\n"), ("se cret \r\n", "se cret \r"),
    ])
    func secretFileLosesOneTrailingNewlineOnly(contents: String, secret: String) {
        #expect(DeviceKey.secret(fromFileContents: Array(contents.utf8)) == Array(secret.utf8))
    }

    /// docs/protocol.md's test vector, computed with `openssl dgst -sha256 -hmac` and Python's hmac:
    /// secret → device key → the AUTH answer to one nonce. The C and Python clients pin the same numbers.
    @Test func challengeResponseMatchesTheProtocolTestVector() {
        let secret = Array("correct horse battery staple".utf8)
        let key = DeviceKey.token(secret: secret, id: "dev-1")
        #expect(key == "7e3f2843466337f4c334c3f95b72d6f705176fecbc177c96ae07a6b5732c8458")
        let nonce = "00112233445566778899aabbccddeeff"
        let mac = DeviceKey.challengeResponse(deviceKey: key, nonce: nonce)
        #expect(hex(mac) == "424e8e37301f61d7b55c5841f225ded454bbeb50dcae93c229cfc5fee14fc7b7")
        #expect(DeviceKey.answers(mac, nonce: nonce, secret: secret, id: "dev-1"))
        #expect(!DeviceKey.answers(mac, nonce: "00112233445566778899aabbccddeefe", secret: secret, id: "dev-1"))
        #expect(!DeviceKey.answers(mac, nonce: nonce, secret: secret, id: "dev-2"))
        #expect(!DeviceKey.answers(mac, nonce: nonce, secret: Array("another secret, also long".utf8), id: "dev-1"))
        #expect(!DeviceKey.answers(Array(mac.dropLast()), nonce: nonce, secret: secret, id: "dev-1"))
    }

    @Test func constantTimeEqualsComparesLengthAndBytes() {
        #expect(constantTimeEquals([], []))
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }

    @Test func randomBytesHaveTheAskedLengthAndDiffer() throws {
        let first = try RandomBytes.make(count: 32)
        let second = try RandomBytes.make(count: 32)
        #expect(first.count == 32 && second.count == 32)
        // 2^-256 to fail by chance; equal outputs mean the generator is not generating.
        #expect(first != second)
        #expect(try RandomBytes.make(count: 0).isEmpty)
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
