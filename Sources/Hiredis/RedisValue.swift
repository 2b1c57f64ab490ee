// A Redis reply as a Swift value, copied out of hiredis's `redisReply` tree at once, so nothing
// outside this module touches hiredis's memory. Every consumer checks the shape it expects: a reply
// of another type is input to log and skip, never a crash (docs/design.md, "Cluster").
import CHiredis

// Not `indirect`: that boxed every reply on the heap, an integer's too (the cluster link reads one for
// every presence event); the array case's elements are on the heap already.
public enum RedisValue: Sendable, Equatable {
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

/// hiredis's argv form: a count, each word's pointer, each word's length (words are binary-safe).
public typealias ArgvBody<Result> = (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result

/// Calls `body` with hiredis's argv form of `words`.
public func withArgv<Result>(_ words: [[UInt8]], _ body: ArgvBody<Result>) -> Result {
    var joined: [UInt8] = []
    var lengths: [Int] = []
    lengths.reserveCapacity(words.count)
    for word in words {
        joined.append(contentsOf: word)
        lengths.append(word.count)
    }
    return withArgv(joined: &joined, lengths: &lengths, body)
}

/// Calls `body` with hiredis's argv form of `words`, each as its UTF-8 bytes. The cluster link builds a
/// command per presence event: copying the bytes straight into one buffer, rather than an array per word
/// first, halved the link's CPU per event in a profile (docs/benchmarks.md, "Cluster"). The buffer, the
/// lengths and the pointers are temporary allocations (on the stack when small, as a claim's are), not
/// arrays: two mallocs fewer per command.
public func withArgv<Result>(_ words: [String], _ body: ArgvBody<Result>) -> Result {
    // Sized once (a native string knows its UTF-8 count); one byte more keeps it non-empty.
    let total = words.reduce(1) { $0 + $1.utf8.count }
    let count = max(words.count, 1)
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: total) { bytes in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { lengths in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { argv in
                let base = UnsafeMutableRawPointer(bytes.baseAddress!)
                var offset = 0
                for (index, word) in words.enumerated() {
                    let start = base + offset
                    var length = 0
                    let isCopied = word.utf8.withContiguousStorageIfAvailable { utf8 in
                        guard let from = utf8.baseAddress else { return } // an empty word has none
                        start.copyMemory(from: from, byteCount: utf8.count)
                        length = utf8.count
                    }
                    if isCopied == nil {
                        for byte in word.utf8 {
                            start.storeBytes(of: byte, toByteOffset: length, as: UInt8.self)
                            length += 1
                        }
                    }
                    argv[index] = UnsafePointer(bytes.baseAddress! + offset)
                    lengths[index] = length
                    offset += length
                }
                return body(Int32(words.count), argv.baseAddress!, UnsafePointer(lengths.baseAddress!))
            }
        }
    }
}

/// One contiguous buffer for every word, so each word's pointer stays valid for the whole call.
private func withArgv<Result>(joined: inout [UInt8], lengths: inout [Int], _ body: ArgvBody<Result>) -> Result {
    // A trailing NUL keeps the buffer non-empty (a valid base address) even when every word is.
    joined.append(0)
    return joined.withUnsafeBufferPointer { bytes in
        let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
        return withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(lengths.count, 1)) {
            argv in
            var offset = 0
            for (index, length) in lengths.enumerated() {
                argv[index] = base + offset
                offset += length
            }
            return lengths.withUnsafeBufferPointer { sizes in
                body(Int32(lengths.count), argv.baseAddress!, sizes.baseAddress!)
            }
        }
    }
}
