// A client id, and the one rule for it (1–64 bytes of `A–Z a–z 0–9 . _ : @ -`) that HELLO on the wire,
// the control socket's verbs and `heartbeatctl token` apply. The daemon keeps one per online client in
// its session and as its registry key, so the value is 16 bytes and a long id costs a 48-byte block.

/// A valid client id, stored compactly:
///
///     bytes    form                                   per id (glibc chunks)   a String, for comparison
///     1...15   inline, no allocation                  16 B                    16 B
///     16...24  a block of the bytes (16 B header)     16 B + 48 B             16 B + 80 B
///     25...40  the same                               16 B + 64 B             16 B + 80 B (96 B from 32)
///     41...64  the same                               16 B + 80 B             16 B + 96 B
///
/// A String's long form carries a 32-byte header (count, capacity, flags, breadcrumbs) and a NUL; this
/// block has only the object header, which reference counting needs: copies (the session's id and the
/// registry's key) share it. The form follows from the count alone, so equal ids have equal forms.
/// Hashing feeds the bytes to `Hasher`, which is seeded per process: the registry is keyed by ids that
/// untrusted clients choose.
public struct ClientID: Hashable, @unchecked Sendable, CustomStringConvertible {
    public static let maxLength = 64
    /// The rule as error messages state it.
    public static let rule = "1-64 bytes of A-Z a-z 0-9 . _ : @ -"
    /// The longest id kept inline, without an allocation.
    public static let inlineCapacity = 15

    /// Whether `byte` may appear in an id. Inlinable: the wire parser calls it for every byte of a HELLO.
    @inlinable
    public static func isByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true // A-Z a-z 0-9
        case 0x2E, 0x5F, 0x3A, 0x40, 0x2D: true // . _ : @ -
        default: false
        }
    }

    public static func isValid(_ id: String) -> Bool {
        isValid(bytes: id.utf8)
    }

    public static func isValid(bytes: some Collection<UInt8>) -> Bool {
        (1...maxLength).contains(bytes.count) && bytes.allSatisfy(isByte)
    }

    private let storage: Storage

    /// The id `text` spells, or nil if it breaks the rule.
    public init?(_ text: String) {
        self.init(bytes: text.utf8)
    }

    /// The id made of `bytes`, or nil if they break the rule.
    public init?(bytes: some Collection<UInt8>) {
        guard Self.isValid(bytes: bytes) else { return nil }
        storage = Storage(bytes)
    }

    /// Length in bytes, 1...64.
    public var count: Int {
        switch storage {
        case .inline(_, let count): Int(count.rawValue)
        case .heap(let count, _): Int(count)
        }
    }

    /// Whether the id lives in a block of its own (more than `inlineCapacity` bytes).
    public var isInline: Bool {
        if case .inline = storage { true } else { false }
    }

    /// Calls `body` with the id's bytes, valid only during the call.
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        switch storage {
        case .inline(var words, let count):
            return try withUnsafeBytes(of: &words) { raw in
                try raw.withMemoryRebound(to: UInt8.self) {
                    try body(UnsafeBufferPointer(rebasing: $0.prefix(Int(count.rawValue))))
                }
            }
        case .heap(let count, let block):
            return try block.withUnsafeMutablePointerToElements {
                try body(UnsafeBufferPointer(start: $0, count: Int(count)))
            }
        }
    }

    /// The id as text, for logs, control answers, events and Redis: the edges, where a String is wanted.
    /// The one spelling of that conversion (`"\(id)"` in log metadata comes to the same).
    public var description: String {
        withBytes { String(decoding: $0, as: UTF8.self) }
    }

    public static func == (lhs: ClientID, rhs: ClientID) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case (.inline(let a, let m), .inline(let b, let n)):
            // Unused inline bytes are zero, so the words compare whole.
            return m == n && a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3
        case (.heap(let m, let a), .heap(let n, let b)):
            guard m == n else { return false }
            if a === b { return true }
            return lhs.withBytes { l in rhs.withBytes { r in l.elementsEqual(r) } }
        default:
            return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        // The count ends the bytes, so an id hashed next to other values cannot run into them.
        hasher.combine(UInt8(truncatingIfNeeded: count))
    }
}

extension ClientID: ExpressibleByStringLiteral {
    /// An id written in the source, as tests and fixed names do; one that breaks the rule is the
    /// programmer's error and stops the program. Text from outside goes through `init?(_:)`.
    public init(stringLiteral text: String) {
        guard let id = ClientID(text) else { preconditionFailure("'\(text)' is no client id: \(ClientID.rule)") }
        self = id
    }
}

extension ClientID {
    /// Two forms in 16 bytes. The inline form's count is an enum of 16 cases, so the high bits of its
    /// byte are spare; they lie where the block reference's spare bits lie in the heap form, and Swift
    /// keeps the case there instead of in a 17th byte (a test checks the size, and Optional's).
    fileprivate enum Storage {
        /// Up to 15 bytes in a row (8 + 4 + 2 + 1, no padding between), the rest zero.
        case inline((UInt64, UInt32, UInt16, UInt8), InlineCount)
        /// The count beside a block of exactly the bytes.
        case heap(count: UInt64, Block)

        init(_ bytes: some Collection<UInt8>) {
            if bytes.count <= ClientID.inlineCapacity {
                var words: (UInt64, UInt32, UInt16, UInt8) = (0, 0, 0, 0)
                withUnsafeMutableBytes(of: &words) { raw in
                    for (offset, byte) in bytes.enumerated() { raw[offset] = byte }
                }
                self = .inline(words, InlineCount(rawValue: UInt8(bytes.count))!)
            } else {
                let block = Block.create(minimumCapacity: bytes.count) { _ in }
                block.withUnsafeMutablePointerToElements { elements in
                    _ = UnsafeMutableBufferPointer(start: elements, count: bytes.count).initialize(from: bytes)
                }
                self = .heap(count: UInt64(bytes.count), unsafeDowncast(block, to: Block.self))
            }
        }
    }

    /// The id's bytes after the object header (16 B): `ManagedBuffer` with no header of its own. Written
    /// once, before the first copy of the id exists, and only read after; that is what makes the
    /// `Sendable` of `ClientID` sound, which Swift cannot see through `ManagedBuffer`.
    fileprivate final class Block: ManagedBuffer<Void, UInt8> {}

    fileprivate enum InlineCount: UInt8 {
        case c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15
    }
}
