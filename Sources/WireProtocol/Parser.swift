// Turns one framed line into a Request. Words are found as index ranges and verbs compared against
// static spellings, so PING, BYE, AUTH, empty and unknown lines allocate nothing; only HELLO builds Strings.
import Primitives

public enum Parser {
    /// Parses one line's content, as framed by `Framing.next`: printable ASCII, no `\r` or `\n`.
    /// Words are separated by runs of spaces; leading and trailing spaces do not count.
    /// Zero allocations for everything but HELLO and errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, line: Range<Int>) throws(ProtocolError) -> Request {
        precondition(line.lowerBound >= 0 && line.upperBound <= bytes.count, "line lies outside the buffer")
        var words = Words(bytes: bytes, rest: line)
        guard let verb = words.next() else { return .empty }

        if ASCII.matches(bytes, verb, "PING") {
            guard let tag = words.next() else { return .ping(tag: nil) }
            guard tag.count <= Request.maxTagLength else {
                throw .badLine("tag longer than \(Request.maxTagLength) bytes")
            }
            guard words.next() == nil else { throw .badLine("PING takes at most one tag") }
            return .ping(tag: tag)
        }
        if ASCII.matches(bytes, verb, "BYE") {
            guard words.next() == nil else { throw .badLine("BYE takes no words") }
            return .bye
        }
        if ASCII.matches(bytes, verb, "HELLO") {
            return .hello(try hello(bytes, words: &words))
        }
        if ASCII.matches(bytes, verb, "AUTH") {
            return .auth(mac: try authMAC(bytes, words: &words))
        }
        return .other(verb: verb)
    }

    private static func hello(_ bytes: UnsafeRawBufferPointer, words: inout Words) throws(ProtocolError) -> Hello {
        guard let idRange = words.next() else { throw .badHello("missing id") }
        guard idRange.count <= Hello.maxIDLength else {
            throw .badHello("id longer than \(Hello.maxIDLength) bytes")
        }
        if let bad = idRange.first(where: { !ClientID.isByte(bytes[$0]) }) {
            throw .badHello("id has byte \(ASCII.describe(bytes[bad]))")
        }
        var hello = Hello(id: string(bytes, idRange))

        var seenInterval = false
        var seenToken = false
        while let word = words.next() {
            guard let equals = word.first(where: { bytes[$0] == ASCII.equals }) else {
                throw .badHello("unexpected word \(quoted(bytes, word))")
            }
            let key = word.lowerBound..<equals
            let value = (equals + 1)..<word.upperBound
            if ASCII.matches(bytes, key, "interval") {
                guard !seenInterval else { throw .badHello("duplicate option 'interval'") }
                seenInterval = true
                hello.intervalMS = try interval(bytes, value)
            } else if ASCII.matches(bytes, key, "token") {
                guard !seenToken else { throw .badHello("duplicate option 'token'") }
                seenToken = true
                hello.token = try token(bytes, value)
            } else {
                throw .badHello("unknown option \(quoted(bytes, key))")
            }
        }
        return hello
    }

    private static func interval(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws(ProtocolError) -> UInt64 {
        guard (1...Hello.maxIntervalDigits).contains(value.count) else {
            throw .badHello("interval must be 1 to \(Hello.maxIntervalDigits) digits")
        }
        var milliseconds: UInt64 = 0
        for index in value {
            let byte = bytes[index]
            guard ASCII.isDigit(byte) else { throw .badHello("interval has byte \(ASCII.describe(byte))") }
            milliseconds = milliseconds * 10 + UInt64(byte - ASCII.zero)
        }
        return milliseconds
    }

    private static func token(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws(ProtocolError) -> String {
        guard (1...Hello.maxTokenLength).contains(value.count) else {
            throw .badHello("token must be 1 to \(Hello.maxTokenLength) hex digits")
        }
        if let bad = value.first(where: { !ASCII.isHexDigit(bytes[$0]) }) {
            throw .badHello("token has byte \(ASCII.describe(bytes[bad]))")
        }
        return String(decoding: value.map { ASCII.lowercased(bytes[$0]) }, as: UTF8.self)
    }

    /// AUTH's one word: exactly `Request.authMACLength` hex digits.
    private static func authMAC(_ bytes: UnsafeRawBufferPointer, words: inout Words) throws(ProtocolError) -> Range<Int>
    {
        guard let mac = words.next() else { throw .badAuth("AUTH needs \(Request.authMACLength) hex digits") }
        guard words.next() == nil else { throw .badAuth("AUTH takes one word") }
        guard mac.count == Request.authMACLength else {
            throw .badAuth("AUTH takes \(Request.authMACLength) hex digits, not \(mac.count)")
        }
        if let bad = mac.first(where: { !ASCII.isHexDigit(bytes[$0]) }) {
            throw .badAuth("AUTH has byte \(ASCII.describe(bytes[bad]))")
        }
        return mac
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// A client's word inside an error detail, cut so that the ERR line stays short.
    private static func quoted(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        let shown = range.count > quotedLength ? range.lowerBound..<(range.lowerBound + quotedLength) : range
        return "'" + string(bytes, shown) + (shown == range ? "'" : "...'")
    }

    private static let quotedLength = 32
}

/// The words of a line, as ranges, left to right. A word is a run of bytes other than space.
struct Words {
    let bytes: UnsafeRawBufferPointer
    var rest: Range<Int>

    mutating func next() -> Range<Int>? {
        var index = rest.lowerBound
        while index < rest.upperBound && bytes[index] == ASCII.space { index += 1 }
        guard index < rest.upperBound else {
            rest = rest.upperBound..<rest.upperBound
            return nil
        }
        let first = index
        while index < rest.upperBound && bytes[index] != ASCII.space { index += 1 }
        rest = index..<rest.upperBound
        return first..<index
    }
}
