// libFuzzer target: a client's bytes as a worker reads them — framed into lines, each parsed into a Request
// (HELLO, PING, BYE, AUTH, anything else). A crash, or a line or range outside the bytes, is a finding.
import CLibFuzzer
import WireProtocol

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var start = 0
    while case .line(let line, let next) = Framing.next(in: bytes, from: start, maxLine: Framing.defaultMaxLine) {
        precondition(line.lowerBound == start && line.upperBound < next && next <= size, "frame outside the bytes")
        start = next
        guard let request = try? Parser.parse(bytes, line: line) else { continue }
        switch request {
        case .ping(let tag?):
            precondition(line.contains(tag.lowerBound) && tag.upperBound <= line.upperBound, "tag outside the line")
        case .hello(let hello):
            // What the parser accepts, the client's encoder writes back as a line the parser reads the same.
            var out: [UInt8] = []
            guard (try? RequestLine.appendHello(hello, to: &out)) != nil else {
                preconditionFailure("a parsed HELLO cannot be written back: \(hello)")
            }
            let again = out.withUnsafeBytes { written in
                try? Parser.parse(written, line: 0..<(written.count - 1))
            }
            precondition(again == .hello(hello), "HELLO does not survive a round trip: \(hello)")
        default:
            break
        }
    }
    return 0
}
