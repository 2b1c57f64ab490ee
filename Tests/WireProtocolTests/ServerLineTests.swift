// Decoding the server's lines as a client reads them: OK, PONG, ERR, BYE, and what is none of them.
// Each reply Reply can encode decodes back to what was encoded.
import Testing
import WireProtocol

/// A ServerLine with PONG's tag read out as text, or the error thrown instead.
enum Decoded: Equatable, CustomStringConvertible {
    case ok(String, UInt64, UInt64)
    case pong(String?)
    case error(String, String)
    case bye(String)
    case challenge(String)
    case failed(ProtocolError)

    init(_ line: String) {
        let input = bytes(line)
        self = input.withUnsafeBytes { buffer in
            do throws(ProtocolError) {
                switch try ServerLine.decode(buffer, line: 0..<buffer.count) {
                case .ok(let id, let interval, let timeout): return .ok(id, interval, timeout)
                case .pong(let tag): return .pong(tag.map { text(buffer, $0) })
                case .error(let code, let detail): return .error(code, detail)
                case .bye(let reason): return .bye(reason)
                case .challenge(let nonce): return .challenge(nonce)
                }
            } catch {
                return .failed(error)
            }
        }
    }

    var description: String {
        switch self {
        case .ok(let id, let interval, let timeout): "ok(\(id), \(interval), \(timeout))"
        case .pong(let tag): "pong(\(tag ?? "-"))"
        case .error(let code, let detail): "error(\(code), \(detail))"
        case .bye(let reason): "bye(\(reason))"
        case .challenge(let nonce): "challenge(\(nonce))"
        case .failed(let error): "failed(\(error))"
        }
    }
}

@Suite struct ServerLineTests {
    @Test(arguments: [
        ("OK web-7 interval=10000 timeout=30000", Decoded.ok("web-7", 10_000, 30_000)),
        ("OK a interval=0 timeout=18446744073709551615", .ok("a", 0, UInt64.max)),
        ("PONG", .pong(nil)),
        ("PONG 42", .pong("42")),
        ("PONG  42 ", .pong("42")),
        ("ERR auth-failed", .error("auth-failed", "")),
        ("ERR bad-hello id has byte '/'", .error("bad-hello", "id has byte '/'")),
        ("BYE replaced", .bye("replaced")),
        ("BYE", .bye("")),
        ("BYE see you  later ", .bye("see you  later")),
    ])
    func decodes(line: String, expected: Decoded) {
        #expect(Decoded(line) == expected)
    }

    @Test(arguments: [
        ("", "empty line"),
        ("   ", "empty line"),
        ("ok web-7 interval=1 timeout=3", "unknown verb"),
        ("HELLO x", "unknown verb"),
        ("OK web-7 interval=1", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("OK web-7 timeout=3 interval=1", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("OK web-7 interval=x timeout=3", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("OK web-7 interval= timeout=3", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("OK web-7 interval=1 timeout=3 more", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("OK web-7 interval=1 timeout=18446744073709551616", "OK needs <id> interval=<ms> timeout=<ms>"),
        ("PONG a b", "PONG takes at most one tag"),
        ("ERR", "ERR needs a code"),
    ])
    func rejects(line: String, detail: String) {
        #expect(Decoded(line) == .failed(.badLine(detail)))
    }

    @Test func decodesWhatReplyEncodes() {
        var out: [UInt8] = []
        Reply.appendOK(id: "node-1", intervalMS: 10_000, timeoutMS: 30_000, to: &out)
        bytes("t-1").withUnsafeBytes { Reply.appendPong(tag: $0, to: &out) }
        Reply.appendPong(tag: nil, to: &out)
        Reply.appendError(.authFailed, text: "token mismatch", to: &out)
        Reply.appendBye("timeout", to: &out)
        var lines: [Decoded] = []
        out.withUnsafeBytes { buffer in
            var start = 0
            while case .line(let line, let next) = Framing.next(in: buffer, from: start, maxLine: Reply.maxLength) {
                lines.append(Decoded(text(buffer, line)))
                start = next
            }
        }
        #expect(
            lines == [
                .ok("node-1", 10_000, 30_000), .pong("t-1"), .pong(nil), .error("auth-failed", "token mismatch"),
                .bye("timeout"),
            ])
    }
}
