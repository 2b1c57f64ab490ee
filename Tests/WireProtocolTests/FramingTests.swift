// Framing.next as tables (partial lines, line ends, forbidden bytes, the maxLine boundary, start
// offsets), against a plain reference model on random bytes, and together with Parser over a stream
// split into reads at every possible position.
import TestSupport
import Testing
import WireProtocol

struct FramingCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var start = 0
    var maxLine = 256
    var expected: Frame
    var testDescription: String { name }
}

private let framingCases: [FramingCase] = [
    FramingCase(name: "empty buffer", input: [], expected: .incomplete),
    FramingCase(name: "partial line", input: bytes("PIN"), expected: .incomplete),
    FramingCase(name: "one line", input: bytes("PING\n"), expected: .line(0..<4, next: 5)),
    FramingCase(name: "first of several lines", input: bytes("PING\nPING a\nBYE\n"), expected: .line(0..<4, next: 5)),
    FramingCase(name: "bare newline", input: bytes("\n"), expected: .line(0..<0, next: 1)),
    FramingCase(name: "CR LF", input: bytes("PING\r\n"), expected: .line(0..<4, next: 6)),
    FramingCase(name: "bare CR LF", input: bytes("\r\n"), expected: .line(0..<0, next: 2)),
    FramingCase(name: "CR at the end, LF not yet read", input: bytes("PING\r"), expected: .incomplete),
    FramingCase(name: "lone CR", input: bytes("PI\rNG\n"), expected: .failed(.badLine("byte 0x0D at column 3"))),
    FramingCase(name: "CR CR LF", input: bytes("\r\r\n"), expected: .failed(.badLine("byte 0x0D at column 1"))),
    FramingCase(name: "NUL", input: bytes("PING\u{0}\n"), expected: .failed(.badLine("byte 0x00 at column 5"))),
    FramingCase(
        name: "NUL before the newline arrived", input: bytes("P\u{0}"),
        expected: .failed(.badLine("byte 0x00 at column 2"))),
    FramingCase(name: "tab", input: bytes("PING\ta\n"), expected: .failed(.badLine("byte 0x09 at column 5"))),
    FramingCase(name: "DEL", input: bytes("PING \u{7F}\n"), expected: .failed(.badLine("byte 0x7F at column 6"))),
    FramingCase(
        name: "byte 0x80", input: bytes("PING ") + [0x80] + bytes("\n"),
        expected: .failed(.badLine("byte 0x80 at column 6"))),
    FramingCase(name: "byte 0xFF", input: [0xFF], expected: .failed(.badLine("byte 0xFF at column 1"))),
    FramingCase(
        name: "bad byte after the newline is the next line's", input: bytes("PING\n\u{0}"),
        expected: .line(0..<4, next: 5)),
    FramingCase(
        name: "exactly maxLine with LF", input: bytes("PING ab\n"), maxLine: 8, expected: .line(0..<7, next: 8)),
    FramingCase(
        name: "exactly maxLine with CR LF", input: bytes("PING a\r\n"), maxLine: 8, expected: .line(0..<6, next: 8)),
    FramingCase(
        name: "maxLine + 1 with LF", input: bytes("PING abc\n"), maxLine: 8, expected: .failed(.lineTooLong(limit: 8))),
    FramingCase(
        name: "maxLine + 1 with CR LF", input: bytes("PING ab\r\n"), maxLine: 8,
        expected: .failed(.lineTooLong(limit: 8))),
    FramingCase(
        name: "maxLine bytes, no LF yet", input: bytes("PING abc"), maxLine: 8,
        expected: .failed(.lineTooLong(limit: 8))),
    FramingCase(
        name: "maxLine bytes ending in CR", input: bytes("PING ab\r"), maxLine: 8,
        expected: .failed(.lineTooLong(limit: 8))),
    FramingCase(name: "maxLine - 1 bytes, no LF yet", input: bytes("PING ab"), maxLine: 8, expected: .incomplete),
    FramingCase(
        name: "bad byte past maxLine is not looked at", input: bytes("PING abc\u{0}\n"), maxLine: 8,
        expected: .failed(.lineTooLong(limit: 8))),
    FramingCase(
        name: "maxLine 1 allows only an empty line", input: bytes("\n"), maxLine: 1, expected: .line(0..<0, next: 1)),
    FramingCase(
        name: "maxLine 1 and one byte", input: bytes("a"), maxLine: 1, expected: .failed(.lineTooLong(limit: 1))),
    FramingCase(
        name: "default maxLine, 255 bytes + LF", input: Array(repeating: 0x61, count: 255) + [0x0A],
        expected: .line(0..<255, next: 256)),
    FramingCase(
        name: "default maxLine, 256 bytes + LF", input: Array(repeating: 0x61, count: 256) + [0x0A],
        expected: .failed(.lineTooLong(limit: 256))),
    FramingCase(name: "start in the middle", input: bytes("xxPING\nPONG"), start: 2, expected: .line(2..<6, next: 7)),
    FramingCase(
        name: "start in the middle, rest partial", input: bytes("xxPING\nPONG"), start: 7, expected: .incomplete),
    FramingCase(name: "start at the end", input: bytes("PING\n"), start: 5, expected: .incomplete),
    FramingCase(
        name: "maxLine counts from start", input: bytes("0123456789PING\n"), start: 10, maxLine: 5,
        expected: .line(10..<14, next: 15)),
    FramingCase(
        name: "maxLine counts from start, too long", input: bytes("0123456789PING\n"), start: 10, maxLine: 4,
        expected: .failed(.lineTooLong(limit: 4))),
    FramingCase(
        name: "bytes before start are not looked at", input: bytes("\u{0}\tPING\n"), start: 2,
        expected: .line(2..<6, next: 7)),
    FramingCase(
        name: "column counts from start", input: bytes("abc\nPI\tNG\n"), start: 4,
        expected: .failed(.badLine("byte 0x09 at column 3"))),
]

@Suite struct FramingTests {
    @Test(arguments: framingCases)
    func table(_ testCase: FramingCase) {
        let frame = testCase.input.withUnsafeBytes {
            Framing.next(in: $0, from: testCase.start, maxLine: testCase.maxLine)
        }
        #expect(frame == testCase.expected)
    }

    @Test func walksSeveralLinesInOneBuffer() {
        let input = bytes("PING\r\nPING a\n\nBYE\nPIN")
        var lines: [String] = []
        var start = 0
        var last = Frame.incomplete
        input.withUnsafeBytes { buffer in
            while true {
                last = Framing.next(in: buffer, from: start, maxLine: 256)
                guard case .line(let content, let next) = last else { return }
                lines.append(text(buffer, content))
                start = next
            }
        }
        #expect(lines == ["PING", "PING a", "", "BYE"])
        #expect(last == .incomplete)
        #expect(start == 18)
    }

    @Test func matchesReferenceModelOnRandomBytes() {
        let alphabet: [UInt8] = [0x61, 0x50, 0x20, 0x0D, 0x0A, 0x00, 0x09, 0x7F, 0x80]
        var random = SplitMix64(seed: 0x6865_6172_7462_6561)
        for _ in 0..<20_000 {
            let input = (0..<Int.random(in: 0...24, using: &random)).map { _ in alphabet.randomElement(using: &random)!
            }
            let start = Int.random(in: 0...input.count, using: &random)
            let maxLine = Int.random(in: 1...10, using: &random)
            let frame = input.withUnsafeBytes { Framing.next(in: $0, from: start, maxLine: maxLine) }
            let expected = referenceFrame(input, from: start, maxLine: maxLine)
            #expect(frame == expected, "input \(input) start \(start) maxLine \(maxLine)")
            if frame != expected { return }
        }
    }
}

/// Framing as the rules state it, on arrays: only the first maxLine bytes count; a line needs its
/// LF among them; a CR may only stand right before the LF; the first other bad byte fails the line.
private func referenceFrame(_ input: [UInt8], from start: Int, maxLine: Int) -> Frame {
    let window = Array(input[start..<min(input.count, start + maxLine)])
    let isBad = { (byte: UInt8) in byte < 0x20 || byte > 0x7E }
    let failure = { (column: Int) in
        Frame.failed(.badLine("byte 0x\(hexDigits(window[column])) at column \(column + 1)"))
    }
    if let newline = window.firstIndex(of: 0x0A) {
        var content = Array(window[..<newline])
        if content.last == 0x0D { content.removeLast() }
        if let bad = content.firstIndex(where: isBad) { return failure(bad) }
        return .line(start..<(start + content.count), next: start + newline + 1)
    }
    var decided = window
    if decided.last == 0x0D { decided.removeLast() }
    if let bad = decided.firstIndex(where: isBad) { return failure(bad) }
    return window.count == maxLine ? .failed(.lineTooLong(limit: maxLine)) : .incomplete
}

private func hexDigits(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// What a worker does with its read buffer: append what arrived, frame and parse every complete
/// line, keep the rest for the next read, stop at the first error.
private struct Reader {
    let maxLine: Int
    var pending: [UInt8] = []
    var results: [Parsed] = []
    var hasFailed = false

    mutating func receive(_ chunk: ArraySlice<UInt8>) {
        guard !hasFailed else { return }
        pending.append(contentsOf: chunk)
        var start = 0
        var parsed: [Parsed] = []
        var failed = false
        pending.withUnsafeBytes { buffer in
            while !failed {
                switch Framing.next(in: buffer, from: start, maxLine: maxLine) {
                case .line(let content, let next):
                    let request = Parsed(buffer, line: content)
                    parsed.append(request)
                    if case .error = request { failed = true }
                    start = next
                case .incomplete:
                    return
                case .failed(let error):
                    parsed.append(.error(error))
                    failed = true
                }
            }
        }
        results += parsed
        hasFailed = failed
        pending.removeFirst(start)
    }

    static func read(_ stream: [UInt8], maxLine: Int, splitAt cuts: [Int]) -> [Parsed] {
        var reader = Reader(maxLine: maxLine)
        var from = 0
        for cut in cuts + [stream.count] {
            reader.receive(stream[from..<cut])
            from = cut
        }
        return reader.results
    }
}

struct StreamCase: Sendable, CustomTestStringConvertible {
    var name: String
    var stream: String
    var maxLine = 256
    var expected: [Parsed]
    var testDescription: String { name }
}

private let streamCases: [StreamCase] = [
    StreamCase(
        name: "a session",
        stream:
            "HELLO node-1 interval=5000\r\nPING\nPING t1\n\n  \nSTATUS x\nPING 0123456789abcdef0123456789abcdef\nBYE\n",
        expected: [
            .hello(Hello(id: "node-1", intervalMS: 5000)), .ping(nil), .ping("t1"), .empty, .empty,
            .other("STATUS"), .ping("0123456789abcdef0123456789abcdef"), .bye,
        ]
    ),
    StreamCase(name: "ends mid-line", stream: "PING\nPIN", expected: [.ping(nil)]),
    StreamCase(
        name: "too long",
        stream: "PING\nPING 0123456789abcdef\nPING\n",
        maxLine: 16,
        expected: [.ping(nil), .error(.lineTooLong(limit: 16))]
    ),
    StreamCase(
        name: "lines of exactly maxLine, then one over",
        stream: "PING ab\nPING a\r\nPING abc\nPING\n",
        maxLine: 8,
        expected: [.ping("ab"), .ping("a"), .error(.lineTooLong(limit: 8))]
    ),
    StreamCase(
        name: "tab",
        stream: "PING\nPI\tNG\nPING\n",
        expected: [.ping(nil), .error(.badLine("byte 0x09 at column 3"))]
    ),
    StreamCase(
        name: "lone CR",
        stream: "PING a\rb\nPING\n",
        expected: [.error(.badLine("byte 0x0D at column 7"))]
    ),
    StreamCase(
        name: "parse error",
        stream: "PING a b\nPING\n",
        expected: [.error(.badLine("PING takes at most one tag"))]
    ),
]

@Suite struct SplitReadTests {
    @Test(arguments: streamCases)
    func oneRead(_ testCase: StreamCase) {
        #expect(Reader.read(bytes(testCase.stream), maxLine: testCase.maxLine, splitAt: []) == testCase.expected)
    }

    @Test(arguments: streamCases)
    func twoReadsSplitAtEveryByte(_ testCase: StreamCase) {
        let stream = bytes(testCase.stream)
        for cut in 0...stream.count {
            let results = Reader.read(stream, maxLine: testCase.maxLine, splitAt: [cut])
            #expect(results == testCase.expected, "split at \(cut)")
        }
    }

    @Test(arguments: streamCases)
    func threeReadsSplitAtEveryPair(_ testCase: StreamCase) {
        let stream = bytes(testCase.stream)
        var mismatches: [[Int]] = []
        for first in 0...stream.count {
            for second in first...stream.count
            where Reader.read(stream, maxLine: testCase.maxLine, splitAt: [first, second]) != testCase.expected {
                mismatches.append([first, second])
            }
        }
        #expect(mismatches.isEmpty)
    }

    @Test(arguments: streamCases)
    func oneByteAtATime(_ testCase: StreamCase) {
        let stream = bytes(testCase.stream)
        #expect(Reader.read(stream, maxLine: testCase.maxLine, splitAt: Array(0..<stream.count)) == testCase.expected)
    }
}
