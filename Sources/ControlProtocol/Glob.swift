// Shell-style patterns for `clients --match`: `*` any run, `?` one byte, `[a-z]`/`[!a-z]` a set, `\x`
// the byte x. A pattern matches a whole id, byte by byte (ids are ASCII); compiled once, and matching
// backtracks only to the last `*`, so it costs at most pattern × id steps.

public struct Glob: Sendable, Equatable, CustomStringConvertible {
    enum Element: Sendable, Equatable {
        case byte(UInt8)
        case anyByte
        case anyRun
        case set([ClosedRange<UInt8>], isNegated: Bool)

        func matches(_ byte: UInt8) -> Bool {
            switch self {
            case .byte(let expected): byte == expected
            case .anyByte: true
            case .anyRun: false
            case .set(let ranges, let isNegated): ranges.contains { $0.contains(byte) } != isNegated
            }
        }
    }

    let elements: [Element]
    /// The pattern as written.
    public let description: String

    public init(_ pattern: String) throws(ControlError) {
        let bytes = Array(pattern.utf8)
        guard !bytes.isEmpty else { throw .badRequest("empty --match pattern") }
        var elements: [Element] = []
        var position = 0
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "*"):
                // Runs of stars match what one star matches.
                if elements.last != .anyRun { elements.append(.anyRun) }
            case UInt8(ascii: "?"):
                elements.append(.anyByte)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else {
                    throw .badRequest("pattern \(pattern.debugDescription) ends with a lone \\")
                }
                elements.append(.byte(bytes[position]))
                position += 1
            case UInt8(ascii: "["):
                elements.append(try Self.set(bytes, from: &position, pattern: pattern))
            default:
                elements.append(.byte(byte))
            }
        }
        self.elements = elements
        self.description = pattern
    }

    /// A `[…]` set, `position` just after its `[`. A `]` right after `[` or `[!` is a member.
    private static func set(_ bytes: [UInt8], from position: inout Int, pattern: String) throws(ControlError) -> Element
    {
        var isNegated = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "!") || bytes[position] == UInt8(ascii: "^") {
            isNegated = true
            position += 1
        }
        var ranges: [ClosedRange<UInt8>] = []
        var isFirst = true
        while true {
            guard position < bytes.count else {
                throw .badRequest("pattern \(pattern.debugDescription) has a [ without its ]")
            }
            var low = bytes[position]
            position += 1
            if low == UInt8(ascii: "]"), !isFirst { return .set(ranges, isNegated: isNegated) }
            isFirst = false
            if low == UInt8(ascii: "\\") {
                guard position < bytes.count else {
                    throw .badRequest("pattern \(pattern.debugDescription) has a [ without its ]")
                }
                low = bytes[position]
                position += 1
            }
            var high = low
            if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "-"),
                bytes[position + 1] != UInt8(ascii: "]")
            {
                high = bytes[position + 1]
                position += 2
                guard low <= high else {
                    throw .badRequest(
                        "pattern \(pattern.debugDescription) has a backwards range \(Character(Unicode.Scalar(low)))-\(Character(Unicode.Scalar(high)))"
                    )
                }
            }
            ranges.append(low...high)
        }
    }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(bytes: $0) }
    }

    private func matches(bytes text: UnsafeBufferPointer<UInt8>) -> Bool {
        var element = 0
        var offset = 0
        // Where the last `*` was and how much it has swallowed so far: the only backtracking point.
        var star: (element: Int, offset: Int)?
        while offset < text.count {
            if element < elements.count, elements[element] == .anyRun {
                star = (element, offset)
                element += 1
            } else if element < elements.count, elements[element].matches(text[offset]) {
                element += 1
                offset += 1
            } else if let last = star {
                star = (last.element, last.offset + 1)
                element = last.element + 1
                offset = last.offset + 1
            } else {
                return false
            }
        }
        while element < elements.count, elements[element] == .anyRun { element += 1 }
        return element == elements.count
    }
}
