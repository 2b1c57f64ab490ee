// RequestLine's exact bytes for each line a client sends, and the HELLOs it refuses because the
// server's parser would: what the client encodes always parses back to what it meant.
import Testing
import WireProtocol

private func encoded(_ encode: (inout [UInt8]) throws(ProtocolError) -> Void) -> Result<String, ProtocolError> {
    var out = bytes("kept:")
    do throws(ProtocolError) {
        try encode(&out)
    } catch {
        // A refused HELLO leaves the output as it was.
        return out == bytes("kept:") ? .failure(error) : .success("output changed on \(error)")
    }
    return .success(String(decoding: out, as: UTF8.self))
}

@Suite struct RequestLineTests {
    @Test(arguments: [
        (Hello(id: "node-1"), "kept:HELLO node-1\n"),
        (Hello(id: "a", intervalMS: 0), "kept:HELLO a interval=0\n"),
        (Hello(id: "a", intervalMS: 10_000), "kept:HELLO a interval=10000\n"),
        (Hello(id: "a", intervalMS: 9_999_999_999), "kept:HELLO a interval=9999999999\n"),
        (Hello(id: "a", token: "00ff"), "kept:HELLO a token=00ff\n"),
        (Hello(id: "a", token: "00FF"), "kept:HELLO a token=00FF\n"),
        (Hello(id: "web-7.eu:x@y_z", intervalMS: 5, token: "ab"), "kept:HELLO web-7.eu:x@y_z interval=5 token=ab\n"),
    ])
    func hello(hello: Hello, expected: String) {
        #expect(
            encoded { (out: inout [UInt8]) throws(ProtocolError) in try RequestLine.appendHello(hello, to: &out) }
                == .success(expected))
    }

    @Test(arguments: [
        (Hello(id: ""), ProtocolError.badHello("missing id")),
        (Hello(id: "web/7"), .badHello("id has byte '/'")),
        (Hello(id: String(repeating: "x", count: 65)), .badHello("id longer than 64 bytes")),
        (Hello(id: "two words"), .badHello("unexpected word 'words'")),
        (Hello(id: " lead"), .badHello("id ' lead' is not one word of A-Z a-z 0-9 . _ : @ -")),
        (Hello(id: "a\nb"), .badHello("line break in the id or token")),
        (Hello(id: "a\u{7}"), .badLine("byte 0x07 at column 8")),
        (Hello(id: "a", intervalMS: 10_000_000_000), .badHello("interval must be 1 to 10 digits")),
        (Hello(id: "a", token: "zz"), .badHello("token has byte 'z'")),
        (Hello(id: "a", token: ""), .badHello("token must be 1 to 128 hex digits")),
    ])
    func refusedHello(hello: Hello, error: ProtocolError) {
        #expect(
            encoded { (out: inout [UInt8]) throws(ProtocolError) in try RequestLine.appendHello(hello, to: &out) }
                == .failure(error))
    }

    @Test func pingAndBye() {
        #expect(encoded { RequestLine.appendPing(to: &$0) } == .success("kept:PING\n"))
        #expect(encoded { RequestLine.appendBye(to: &$0) } == .success("kept:BYE\n"))
    }

    @Test(arguments: [
        (UInt64(0), "kept:PING 0\n"),
        (9, "kept:PING 9\n"),
        (10, "kept:PING 10\n"),
        (1_712_345_678_901_234, "kept:PING 1712345678901234\n"),
        (UInt64.max, "kept:PING 18446744073709551615\n"),
    ])
    func pingWithStamp(stamp: UInt64, expected: String) {
        #expect(encoded { RequestLine.appendPing(stamp: stamp, to: &$0) } == .success(expected))
    }

    /// Every PING a client can encode is one the server parses as a PING with the same tag.
    @Test(arguments: [UInt64(0), 7, 1_000, UInt64.max])
    func pingParsesBack(stamp: UInt64) {
        var out: [UInt8] = []
        RequestLine.appendPing(stamp: stamp, to: &out)
        let parsed = Parsed(String(decoding: out.dropLast(), as: UTF8.self))
        #expect(parsed == .ping(String(stamp)))
    }
}

@Suite struct DigitsTests {
    @Test(arguments: [
        ("0", UInt64?.some(0)),
        ("007", 7),
        ("18446744073709551615", UInt64.max),
        ("18446744073709551616", nil),
        ("99999999999999999999", nil),
        ("", nil),
        ("12a", nil),
        ("-1", nil),
        ("+1", nil),
        (" 1", nil),
    ])
    func value(text: String, expected: UInt64?) {
        #expect(bytes(text).withUnsafeBytes { Digits.value($0, 0..<$0.count) } == expected)
    }
}
