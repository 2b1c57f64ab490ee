// Encodes what a client says, one complete line each, into the caller's output bytes: the client's
// counterpart of Reply. A PING or BYE allocates nothing once `out` has capacity.

public enum RequestLine {
    /// `HELLO <id>[ interval=<ms>][ token=<hex>]\n`, checked by the server's own Framing and Parser
    /// before it is kept, so a client cannot send a HELLO the server would refuse as malformed.
    /// On a throw `out` is left as it was.
    public static func appendHello(_ hello: Hello, to out: inout [UInt8]) throws(ProtocolError) {
        let start = out.count
        append("HELLO ", to: &out)
        out.append(contentsOf: hello.id.utf8)
        if let interval = hello.intervalMS {
            append(" interval=", to: &out)
            Digits.append(interval, to: &out)
        }
        if let token = hello.token {
            append(" token=", to: &out)
            out.append(contentsOf: token.utf8)
        }
        out.append(ASCII.newline)
        do throws(ProtocolError) {
            try check(hello, in: out, from: start)
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// `PING\n`.
    public static func appendPing(to out: inout [UInt8]) {
        append("PING\n", to: &out)
    }

    /// `PING <stamp>\n`: a numeric tag the server echoes in PONG (the load generator sends its send time).
    public static func appendPing(stamp: UInt64, to out: inout [UInt8]) {
        append("PING ", to: &out)
        Digits.append(stamp, to: &out)
        out.append(ASCII.newline)
    }

    /// `AUTH <64 lowercase hex digits>\n`: the answer to CHALLENGE, `mac` being the 32 bytes of
    /// HMAC-SHA256(device key, nonce) as docs/protocol.md defines them.
    public static func appendAuth(mac: [UInt8], to out: inout [UInt8]) {
        precondition(mac.count * 2 == Request.authMACLength, "an AUTH MAC is \(Request.authMACLength / 2) bytes")
        append("AUTH ", to: &out)
        Hex.append(mac, to: &out)
        out.append(ASCII.newline)
    }

    /// `BYE\n`.
    public static func appendBye(to out: inout [UInt8]) {
        append("BYE\n", to: &out)
    }

    /// The encoded line must frame as exactly one line and parse back to `hello` (the token compared
    /// lower-cased, as the parser keeps it); otherwise the id or token held a space or a line break.
    private static func check(_ hello: Hello, in out: [UInt8], from start: Int) throws(ProtocolError) {
        let parsed: Result<Request, ProtocolError> = out.withUnsafeBytes { bytes in
            switch Framing.next(in: bytes, from: start, maxLine: Framing.defaultMaxLine) {
            case .line(let line, let next) where next == bytes.count:
                Result { () throws(ProtocolError) in try Parser.parse(bytes, line: line) }
            case .line, .incomplete:
                .failure(.badHello("line break in the id or token"))
            case .failed(let error):
                .failure(error)
            }
        }
        let expected = Hello(id: hello.id, intervalMS: hello.intervalMS, token: hello.token?.lowercased())
        guard case .hello(let echoed) = try parsed.get(), echoed == expected else {
            throw .badHello("id '\(hello.id.prefix(Hello.maxIDLength))' is not one word of A-Z a-z 0-9 . _ : @ -")
        }
    }

    private static func append(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }
}
