// Finds where one line ends in a worker's read buffer and rejects forbidden bytes in the same scan.
// It returns index ranges into the caller's bytes, so framing a heartbeat allocates nothing.

/// The outcome of looking for the next line.
public enum Frame: Equatable, Sendable {
    /// The line's content, without its `\n` and a `\r` right before it, and where the following
    /// line starts.
    case line(Range<Int>, next: Int)
    /// No `\n` yet and fewer than `maxLine` bytes pending: keep the bytes from `start` and ask again
    /// once more have arrived.
    case incomplete
    /// `lineTooLong` or `badLine`. The stream cannot be resynchronised, so the session ends.
    case failed(ProtocolError)
}

/// Line framing: lines of printable ASCII ended by `\n`, with a `\r` allowed right before the `\n`.
///
/// `maxLine` counts the whole line, `\r` and `\n` included. Only the first `maxLine` bytes from
/// `start` are ever looked at, so the outcome depends on those bytes alone: however a stream is
/// split into reads, the same lines and the same error come out. A caller that gets `.incomplete`
/// asks again from the same `start` once more bytes are in; that rescan is bounded by `maxLine`.
public enum Framing {
    /// The default for `maxLine`, and the length no reply exceeds.
    public static let defaultMaxLine = 256

    /// Finds the next line in `bytes[start..<bytes.count]`. O(bytes scanned), at most `maxLine`.
    ///
    /// A byte outside 0x20...0x7E before the line's end fails the line with `badLine`, naming the
    /// byte and its 1-based column; a `\r` counts as such a byte unless a `\n` follows it at once.
    public static func next(in bytes: UnsafeRawBufferPointer, from start: Int, maxLine: Int) -> Frame {
        precondition(maxLine > 0, "maxLine must be at least 1")
        precondition(start >= 0 && start <= bytes.count, "start lies outside the buffer")
        let end = bytes.count - start < maxLine ? bytes.count : start + maxLine
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.newline {
                return .line(start..<index, next: index + 1)
            }
            if byte == ASCII.carriageReturn {
                // The `\n` that would make this `\r` legal is not within reach: either it has not
                // arrived yet, or it would fall past maxLine. Decide on what is in the window.
                guard index + 1 < end else { break }
                guard bytes[index + 1] == ASCII.newline else {
                    return .failed(badByte(byte, column: index - start + 1))
                }
                return .line(start..<index, next: index + 2)
            }
            guard ASCII.isPrintable(byte) else {
                return .failed(badByte(byte, column: index - start + 1))
            }
            index += 1
        }
        return end - start == maxLine ? .failed(.lineTooLong(limit: maxLine)) : .incomplete
    }

    private static func badByte(_ byte: UInt8, column: Int) -> ProtocolError {
        .badLine("byte \(ASCII.hex(byte)) at column \(column)")
    }
}
