// libFuzzer target: the first bytes of a connection on a `proxy = true` listener, as ProxyHeader reads them.
// Besides crashes, it checks the contract a worker relies on: a header's length lies within the bytes and
// the limit, and the same bytes cut one short are still `.incomplete` (so a split read changes nothing).
import CLibFuzzer
import WireProtocol

libfuzzer_run(CommandLine.argc, CommandLine.unsafeArgv) { data, size in
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard case .header(let header, let length) = ProxyHeader.parse(bytes) else { return 0 }
    precondition(length > 0 && length <= min(size, ProxyHeader.maxLength), "header length \(length) of \(size)")
    let exact = ProxyHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[..<length]))
    precondition(exact == .header(header, length: length), "the header alone reads differently: \(exact)")
    let short = ProxyHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[..<(length - 1)]))
    precondition(short == .incomplete, "one byte short of a header is \(short), not incomplete")
    return 0
}
