// A Redis reply as a Swift value, copied out of hiredis's `redisReply` tree at once, so nothing
// outside this module touches hiredis's memory. Every consumer checks the shape it expects: a reply
// of another type is input to log and skip, never a crash (docs/design.md, "Cluster").
import CHiredis

public indirect enum RedisValue: Sendable, Equatable {
    /// A bulk string (binary-safe).
    case string([UInt8])
    /// A status line: `OK`, `PONG`, `QUEUED`.
    case status(String)
    /// An error line: `NOSCRIPT No matching script`, `WRONGTYPE ...`.
    case error(String)
    case integer(Int64)
    case null
    case array([RedisValue])

    /// Copies hiredis's reply (recursively; hiredis's own reader stops at 7 levels of nesting).
    public init(reply: UnsafePointer<redisReply>) {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            self = .string(Self.bytes(reply.str, reply.len))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: Self.bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: Self.bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = reply.element[index] {
                    elements.append(RedisValue(reply: element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    /// A bulk string or status as text (invalid UTF-8 repaired); nil for other types.
    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var elements: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var errorText: String? {
        if case .error(let text) = self { return text }
        return nil
    }

    /// An array of alternating names and values (HGETALL, a stream entry's fields) as a dictionary;
    /// nil when the shape is anything else.
    public var fieldMap: [String: String]? {
        guard let elements, elements.count % 2 == 0 else { return nil }
        var map: [String: String] = [:]
        var index = 0
        while index < elements.count {
            guard let name = elements[index].text, let value = elements[index + 1].text else { return nil }
            map[name] = value
            index += 2
        }
        return map
    }

    /// What a log line shows for a reply of the wrong shape.
    public var kindName: String {
        switch self {
        case .string: "bulk string"
        case .status: "status"
        case .error(let text): "error \"\(text.prefix(120))\""
        case .integer: "integer"
        case .null: "nil"
        case .array(let elements): "array of \(elements.count)"
        }
    }
}

/// Calls `body` with hiredis's argv form of `words` (each binary-safe, with its length).
public func withArgv<Result>(
    _ words: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
) -> Result {
    var lengths = words.map(\.count)
    // One contiguous copy: each word's pointer stays valid for the whole call.
    var joined: [CChar] = []
    joined.reserveCapacity(lengths.reduce(0, +) + 1)
    for word in words { joined.append(contentsOf: word.map { CChar(bitPattern: $0) }) }
    joined.append(0)
    return joined.withUnsafeBufferPointer { base in
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(words.count)
        var offset = 0
        for length in lengths {
            pointers.append(base.baseAddress! + offset)
            offset += length
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeMutableBufferPointer { sizes in
                body(Int32(words.count), argv.baseAddress!, UnsafePointer(sizes.baseAddress!))
            }
        }
    }
}
