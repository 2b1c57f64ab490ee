// Reads JSON text back into a JSONValue, strictly: the subset JSON.swift writes (integers only),
// valid UTF-8, nesting at most `maxDepth` deep, nothing after the value but spaces. A recursive
// descent over bytes; an error names the byte offset where reading stopped.

extension JSONValue {
    public static let maxDepth = 16

    /// Parses one whole JSON text; a trailing `\n` (or `\r\n`) is allowed.
    public init(parsing text: some Collection<UInt8>) throws(ControlError) {
        var parser = JSONParser(bytes: Array(text))
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.position < parser.bytes.count { throw parser.failure("unexpected text after the value") }
    }

    public init(parsing text: String) throws(ControlError) {
        try self.init(parsing: text.utf8)
    }
}

extension JSONObject {
    /// Parses a line that must hold one object: the shape of every control answer and event.
    public init(parsingLine text: some Collection<UInt8>) throws(ControlError) {
        guard case .object(let object) = try JSONValue(parsing: text) else {
            throw .badJSON(offset: 0, "expected an object")
        }
        self = object
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ text: String) -> ControlError {
        .badJSON(offset: position, text)
    }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func value(depth: Int) throws(ControlError) -> JSONValue {
        guard depth < JSONValue.maxDepth else { throw failure("nested deeper than \(JSONValue.maxDepth)") }
        guard position < bytes.count else { throw failure("unexpected end of text") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object(try object(depth: depth))
        case UInt8(ascii: "["): return .array(try array(depth: depth))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .integer(try integer())
        default: throw failure("unexpected byte \(hex(bytes[position]))")
        }
    }

    mutating func literal(_ word: String) throws(ControlError) {
        for expected in word.utf8 {
            guard position < bytes.count, bytes[position] == expected else { throw failure("expected \(word)") }
            position += 1
        }
    }

    mutating func object(depth: Int) throws(ControlError) -> JSONObject {
        position += 1
        var object = JSONObject()
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return object
        }
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a key in quotes") }
            let key = try string()
            if object[key] != nil { throw failure("key \(key.debugDescription) appears twice") }
            skipSpace()
            try expect(":")
            skipSpace()
            object[key] = try value(depth: depth + 1)
            skipSpace()
            if try separator(closing: "}") { return object }
        }
    }

    mutating func array(depth: Int) throws(ControlError) -> [JSONValue] {
        position += 1
        var elements: [JSONValue] = []
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return elements
        }
        while true {
            skipSpace()
            elements.append(try value(depth: depth + 1))
            skipSpace()
            if try separator(closing: "]") { return elements }
        }
    }

    /// After a member or element: `,` (more follow) or the closing bracket (true).
    mutating func separator(closing: Unicode.Scalar) throws(ControlError) -> Bool {
        guard position < bytes.count else { throw failure("unexpected end of text") }
        switch bytes[position] {
        case UInt8(ascii: ","):
            position += 1
            return false
        case UInt8(ascii: closing):
            position += 1
            return true
        default:
            throw failure("expected , or \(closing)")
        }
    }

    mutating func expect(_ scalar: Unicode.Scalar) throws(ControlError) {
        guard position < bytes.count, bytes[position] == UInt8(ascii: scalar) else { throw failure("expected \(scalar)") }
        position += 1
    }

    /// `-?(0|[1-9][0-9]*)`, within Int64. Fractions and exponents are refused: the protocol has none.
    mutating func integer() throws(ControlError) -> Int64 {
        let start = position
        let isNegative = bytes[position] == UInt8(ascii: "-")
        if isNegative { position += 1 }
        let digitsStart = position
        var magnitude: UInt64 = 0
        while position < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[position]) {
            let digit = UInt64(bytes[position] - UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { position = start; throw failure("number out of range") }
            magnitude = sum
            position += 1
        }
        let digits = position - digitsStart
        if digits == 0 { throw failure("expected a digit") }
        if digits > 1, bytes[digitsStart] == UInt8(ascii: "0") { position = digitsStart; throw failure("leading zero") }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw failure("only integers are used")
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { position = start; throw failure("number out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { position = start; throw failure("number out of range") }
        return Int64(magnitude)
    }

    mutating func string() throws(ControlError) -> String {
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: utf8, as: UTF8.self) else { throw failure("string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                try escape(into: &utf8)
            case 0x00 ..< 0x20:
                throw failure("control byte \(hex(byte)) in a string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    /// One escape after its `\`; `\uXXXX` pairs surrogates and refuses a lone one.
    mutating func escape(into utf8: inout [UInt8]) throws(ControlError) {
        guard position < bytes.count else { throw failure("unterminated string") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(byte)
        case UInt8(ascii: "\\"): utf8.append(byte)
        case UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "u"):
            var code = UInt32(try hexQuad())
            if (0xD800 ..< 0xDC00).contains(code) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw failure("lone surrogate")
                }
                position += 2
                let low = UInt32(try hexQuad())
                guard (0xDC00 ..< 0xE000).contains(low) else { throw failure("lone surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00 ..< 0xE000).contains(code) {
                throw failure("lone surrogate")
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("invalid \\u escape") }
            utf8.append(contentsOf: String(Character(scalar)).utf8)
        default:
            position -= 1
            throw failure("unknown escape \\\(Character(Unicode.Scalar(byte)))")
        }
    }

    mutating func hexQuad() throws(ControlError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0 ..< 4 {
            guard position < bytes.count else { throw failure("unterminated \\u escape") }
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("expected a hex digit")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }
}
