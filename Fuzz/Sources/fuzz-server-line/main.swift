// libFuzzer target: a server's bytes as a client reads them — framed into lines, each decoded as a
// ServerLine (OK, PONG, ERR, BYE, CHALLENGE). Clients run this on whatever the network hands them.
import CLibFuzzer
import WireProtocol

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var start = 0
    while case .line(let line, let next) = Framing.next(in: bytes, from: start, maxLine: Framing.defaultMaxLine) {
        start = next
        if case .pong(let tag?)? = try? ServerLine.decode(bytes, line: line) {
            precondition(line.contains(tag.lowerBound) && tag.upperBound <= line.upperBound, "tag outside the line")
        }
    }
    return 0
}
