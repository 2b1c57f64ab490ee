// libFuzzer target: one control-socket line as the daemon parses it. A request that parses must survive a
// round trip through `line`, the spelling heartbeatctl sends, since both sides use this one parser.
import CLibFuzzer
import ControlProtocol

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let request = try? ControlRequest(parsing: bytes) else { return 0 }
    let again = try? ControlRequest(parsing: Array(request.line.utf8.dropLast()))
    precondition(
        again == request, "\(request) written as \(request.line.debugDescription) reads as \(String(describing: again))"
    )
    return 0
}
