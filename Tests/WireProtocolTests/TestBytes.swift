// Shared by the WireProtocol tests: byte strings from text, and parse results with their ranges read
// out as text, so that tables can spell out what they expect.
import WireProtocol

func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

func text(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
    String(decoding: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self)
}

/// A Request, or the error thrown instead, with buffer ranges turned into the text they cover.
enum Parsed: Equatable, Sendable, CustomStringConvertible {
    case hello(Hello)
    case ping(String?)
    case bye
    case empty
    case other(String)
    case auth(String)
    case error(ProtocolError)

    init(_ buffer: UnsafeRawBufferPointer, line: Range<Int>) {
        do throws(ProtocolError) {
            switch try Parser.parse(buffer, line: line) {
            case .hello(let hello): self = .hello(hello)
            case .ping(let tag): self = .ping(tag.map { text(buffer, $0) })
            case .bye: self = .bye
            case .empty: self = .empty
            case .other(let verb): self = .other(text(buffer, verb))
            case .auth(let mac): self = .auth(text(buffer, mac))
            }
        } catch {
            self = .error(error)
        }
    }

    init(_ line: String) {
        let input = bytes(line)
        self = input.withUnsafeBytes { Parsed($0, line: 0..<$0.count) }
    }

    var description: String {
        switch self {
        case .hello(let hello): "hello(\(hello.id), \(hello.intervalMS.map(String.init) ?? "-"), \(hello.token ?? "-"))"
        case .ping(let tag): "ping(\(tag ?? "-"))"
        case .bye: "bye"
        case .empty: "empty"
        case .other(let verb): "other(\(verb))"
        case .auth(let mac): "auth(\(mac))"
        case .error(let error): "error(\(error))"
        }
    }
}
