// A command's words written in place for hiredis's argv form: one byte buffer, each word's length and
// pointer, kept by its owner and reused from command to command, so building the cluster link's
// per-event commands makes no array, no String per number and no key string, and a word costs a copy
// (docs/benchmarks.md, "Eighth round"). hiredis still formats the command (redisAsyncCommandArgv).
//
// Not copyable: it owns its buffers (freed in deinit), and a copy would share them.
public struct Argv: ~Copyable {
    private var bytes: UnsafeMutablePointer<CChar>
    private var byteCapacity: Int
    private var byteCount = 0
    private var lengths: UnsafeMutablePointer<Int>
    private var pointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private var wordCapacity: Int
    /// The number of complete words.
    public private(set) var count = 0
    /// Where the word being written began in `bytes`.
    private var wordStart = 0

    public init(bytes byteCapacity: Int = 4_096, words wordCapacity: Int = 256) {
        self.byteCapacity = max(byteCapacity, 32)
        self.wordCapacity = max(wordCapacity, 4)
        bytes = .allocate(capacity: self.byteCapacity)
        lengths = .allocate(capacity: self.wordCapacity)
        pointers = .allocate(capacity: self.wordCapacity)
    }

    deinit {
        bytes.deallocate()
        lengths.deallocate()
        pointers.deallocate()
    }

    /// Starts a new command; the buffers keep their size.
    public mutating func removeAll() {
        byteCount = 0
        count = 0
        wordStart = 0
    }

    /// Appends `word` as one word.
    public mutating func append(_ word: String) {
        write(word)
        endWord()
    }

    /// Appends `number` in decimal as one word.
    public mutating func append(_ number: UInt64) {
        write(number)
        endWord()
    }

    /// Adds `piece` to the word being written (ended by `endWord`).
    public mutating func write(_ piece: String) {
        let length = piece.utf8.count
        reserve(length)
        let to = UnsafeMutableRawPointer(bytes + byteCount)
        // A native string's bytes in one copy (a small one's from the stack); byte by byte otherwise.
        let isCopied = piece.utf8.withContiguousStorageIfAvailable { utf8 in
            if let from = utf8.baseAddress { to.copyMemory(from: from, byteCount: utf8.count) }
        }
        if isCopied == nil {
            for (offset, byte) in piece.utf8.enumerated() {
                to.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            }
        }
        byteCount += length
    }

    /// Adds `number` in decimal to the word being written.
    public mutating func write(_ number: UInt64) {
        // One pass: the digits from the last back into the end of 20 bytes of room, then moved up.
        reserve(20)
        let word = bytes + byteCount
        let end = word + 20
        var first = end
        var rest = number
        repeat {
            first -= 1
            first.pointee = CChar(truncatingIfNeeded: 0x30 &+ rest % 10)
            rest /= 10
        } while rest > 0
        let digits = end - first
        UnsafeMutableRawPointer(word).copyMemory(from: first, byteCount: digits)
        byteCount += digits
    }

    /// Ends the word being written (an empty one if nothing was written since the last).
    public mutating func endWord() {
        if count == wordCapacity { growWords() }
        lengths[count] = byteCount - wordStart
        count += 1
        wordStart = byteCount
    }

    /// The words as Strings (tests, and a log line).
    public var words: [String] {
        var words: [String] = []
        var offset = 0
        for index in 0..<count {
            let word = UnsafeRawBufferPointer(start: bytes + offset, count: lengths[index])
            words.append(String(decoding: word, as: UTF8.self))
            offset += lengths[index]
        }
        return words
    }

    /// Calls `body` with hiredis's argv form of the complete words (at least one); the pointers are
    /// valid only inside it.
    public func withArgv<Result>(_ body: ArgvBody<Result>) -> Result {
        precondition(count > 0, "a command without words")
        var offset = 0
        for index in 0..<count {
            pointers[index] = UnsafePointer(bytes + offset)
            offset += lengths[index]
        }
        return body(Int32(count), pointers, UnsafePointer(lengths))
    }

    @inline(__always)
    private mutating func reserve(_ more: Int) {
        if byteCount + more > byteCapacity { grow(byteCount + more) }
    }

    private mutating func grow(_ needed: Int) {
        let capacity = max(byteCapacity * 2, needed)
        let grown = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        grown.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = grown
        byteCapacity = capacity
    }

    private mutating func growWords() {
        let capacity = wordCapacity * 2
        let grown = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        grown.update(from: lengths, count: count)
        lengths.deallocate()
        lengths = grown
        pointers.deallocate()
        pointers = .allocate(capacity: capacity)
        wordCapacity = capacity
    }
}
