// Encodes the server's replies, one complete line each, straight into the caller's output bytes.
// Numbers are formatted by hand and text is copied byte by byte, so with reserved capacity in `out`
// a PONG or an `ERR unknown-command` allocates nothing.

/// Every reply is printable ASCII ended by `\n` and at most `maxLength` bytes long: free text is cut
/// to fit, and any byte outside 0x20...0x7E in it is sent as `?`, so that no reply can break framing.
public enum Reply {
    /// The longest reply line, `\n` included.
    public static let maxLength = Framing.defaultMaxLine

    /// How much of an unknown verb `ERR unknown-command` echoes.
    public static let maxVerbEcho = 32

    /// `OK <id> interval=<ms> timeout=<ms>\n`. The id is cut to `Hello.maxIDLength` bytes.
    public static func appendOK(id: String, intervalMS: UInt64, timeoutMS: UInt64, to out: inout [UInt8]) {
        append("OK ", to: &out)
        append(text: id, limit: Hello.maxIDLength, to: &out)
        append(" interval=", to: &out)
        Digits.append(intervalMS, to: &out)
        append(" timeout=", to: &out)
        Digits.append(timeoutMS, to: &out)
        out.append(ASCII.newline)
    }

    /// Bytes in a CHALLENGE nonce: 16, sent as 32 lowercase hex digits.
    public static let nonceLength = 16

    /// `CHALLENGE <32 lowercase hex digits>\n`: the nonce a client in challenge auth must MAC (docs/protocol.md).
    public static func appendChallenge(nonce: [UInt8], to out: inout [UInt8]) {
        precondition(nonce.count == nonceLength, "a nonce is \(nonceLength) bytes")
        append("CHALLENGE ", to: &out)
        Hex.append(nonce, to: &out)
        out.append(ASCII.newline)
    }

    /// `PONG\n`, or `PONG <tag>\n` when the tag is not empty. The tag is cut to `Request.maxTagLength` bytes.
    public static func appendPong(tag: UnsafeRawBufferPointer?, to out: inout [UInt8]) {
        append("PONG", to: &out)
        if let tag, !tag.isEmpty {
            out.append(ASCII.space)
            append(text: tag, limit: Request.maxTagLength, to: &out)
        }
        out.append(ASCII.newline)
    }

    /// `ERR <code>\n`, or `ERR <code> <detail>\n` when the detail is not empty. For `unknownCommand`
    /// the detail is the verb, cut to `maxVerbEcho` bytes; any other detail is cut to fit `maxLength`.
    public static func appendError(_ code: ErrorCode, detail: UnsafeRawBufferPointer? = nil, to out: inout [UInt8]) {
        append("ERR ", to: &out)
        append(text: code.rawValue, limit: Int.max, to: &out)
        if let detail, !detail.isEmpty {
            out.append(ASCII.space)
            let limit = code == .unknownCommand ? maxVerbEcho : detailLimit(code)
            append(text: detail, limit: limit, to: &out)
        }
        out.append(ASCII.newline)
    }

    /// `ERR <code> <text>\n` (`ERR <code>\n` for empty text), the text cut to fit `maxLength`.
    public static func appendError(_ code: ErrorCode, text: String, to out: inout [UInt8]) {
        append("ERR ", to: &out)
        append(text: code.rawValue, limit: Int.max, to: &out)
        if !text.isEmpty {
            out.append(ASCII.space)
            append(text: text, limit: detailLimit(code), to: &out)
        }
        out.append(ASCII.newline)
    }

    /// `BYE <reason>\n` (`BYE\n` for an empty reason), the reason cut to fit `maxLength`.
    public static func appendBye(_ reason: String, to out: inout [UInt8]) {
        append("BYE", to: &out)
        if !reason.isEmpty {
            out.append(ASCII.space)
            append(text: reason, limit: maxLength - "BYE \n".utf8.count, to: &out)
        }
        out.append(ASCII.newline)
    }

    /// Room for the text after `ERR <code> ` with the final `\n` still within `maxLength`.
    private static func detailLimit(_ code: ErrorCode) -> Int {
        maxLength - "ERR  \n".utf8.count - code.rawValue.utf8.count
    }

    private static func append(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    private static func append(text: UnsafeRawBufferPointer, limit: Int, to out: inout [UInt8]) {
        var count = 0
        for byte in text {
            guard count < limit else { return }
            out.append(ASCII.isPrintable(byte) ? byte : ASCII.questionMark)
            count += 1
        }
    }

    private static func append(text: String, limit: Int, to out: inout [UInt8]) {
        var count = 0
        for byte in text.utf8 {
            guard count < limit else { return }
            out.append(ASCII.isPrintable(byte) ? byte : ASCII.questionMark)
            count += 1
        }
    }
}
