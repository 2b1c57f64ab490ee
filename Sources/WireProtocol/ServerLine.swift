// The server's side of the protocol as a client reads it: OK, PONG, ERR, BYE and CHALLENGE, decoded from one
// framed line. PONG keeps its tag as a range into the caller's bytes, so a heartbeat allocates nothing.

/// One line from the server.
public enum ServerLine: Equatable, Sendable {
    /// `OK <id> interval=<ms> timeout=<ms>`.
    case ok(id: String, intervalMS: UInt64, timeoutMS: UInt64)
    /// `PONG` or `PONG <tag>`; the tag is a range into the decoded buffer.
    case pong(tag: Range<Int>?)
    /// `ERR <code> [<detail>]`; the detail is empty when there is none.
    case error(code: String, detail: String)
    /// `BYE [<reason>]`; the reason is empty when there is none.
    case bye(reason: String)
    /// `CHALLENGE <32 hex digits>` (challenge auth): the nonce as sent, to MAC and answer with AUTH.
    case challenge(nonce: String)

    /// Decodes one line's content, as framed by `Framing.next`. Words are separated by runs of spaces;
    /// a detail or reason is the text from its first word to its last. Throws `badLine` for a line that
    /// is none of the five (an unknown verb, OK without both numbers, PONG with two tags, ERR without a code).
    public static func decode(_ bytes: UnsafeRawBufferPointer, line: Range<Int>) throws(ProtocolError) -> ServerLine {
        precondition(line.lowerBound >= 0 && line.upperBound <= bytes.count, "line lies outside the buffer")
        var words = Words(bytes: bytes, rest: line)
        guard let verb = words.next() else { throw .badLine("empty line") }

        if ASCII.matches(bytes, verb, "PONG") {
            let tag = words.next()
            guard words.next() == nil else { throw .badLine("PONG takes at most one tag") }
            return .pong(tag: tag)
        }
        if ASCII.matches(bytes, verb, "OK") {
            guard let id = words.next(),
                let interval = words.next().flatMap({ number(bytes, $0, key: "interval") }),
                let timeout = words.next().flatMap({ number(bytes, $0, key: "timeout") }),
                words.next() == nil
            else { throw .badLine("OK needs <id> interval=<ms> timeout=<ms>") }
            return .ok(id: string(bytes, id), intervalMS: interval, timeoutMS: timeout)
        }
        if ASCII.matches(bytes, verb, "ERR") {
            guard let code = words.next() else { throw .badLine("ERR needs a code") }
            return .error(code: string(bytes, code), detail: rest(bytes, &words))
        }
        if ASCII.matches(bytes, verb, "BYE") {
            return .bye(reason: rest(bytes, &words))
        }
        if ASCII.matches(bytes, verb, "CHALLENGE") {
            guard let nonce = words.next(), words.next() == nil, nonce.count == Reply.nonceLength * 2,
                nonce.allSatisfy({ ASCII.isHexDigit(bytes[$0]) })
            else { throw .badLine("CHALLENGE needs \(Reply.nonceLength * 2) hex digits") }
            return .challenge(nonce: string(bytes, nonce))
        }
        throw .badLine("unknown verb")
    }

    /// The value of `<key>=<digits>`, or nil.
    private static func number(_ bytes: UnsafeRawBufferPointer, _ word: Range<Int>, key: StaticString) -> UInt64? {
        let keyLength = key.utf8CodeUnitCount
        guard word.count > keyLength + 1,
            ASCII.matches(bytes, word.lowerBound..<(word.lowerBound + keyLength), key),
            bytes[word.lowerBound + keyLength] == ASCII.equals
        else { return nil }
        return Digits.value(bytes, (word.lowerBound + keyLength + 1)..<word.upperBound)
    }

    /// The text from the next word to the last one, or "".
    private static func rest(_ bytes: UnsafeRawBufferPointer, _ words: inout Words) -> String {
        guard let first = words.next() else { return "" }
        var last = first
        while let word = words.next() { last = word }
        return string(bytes, first.lowerBound..<last.upperBound)
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
