// What a control client asks: one line of words separated by spaces, ended by `\n` (a `\r` before it
// is dropped), at most `maxLine` bytes. heartbeatctl writes them with `line` and checks them with the
// same parser the daemon uses, so both sides agree on what is valid.
//
//   status
//   clients [--match GLOB]
//   client ID
//   kick ID [--reason TEXT]      TEXT is the rest of the line
//   reload
//   upgrade                  (replace the daemon by its binary on disk, keeping every session)
//   watch
import Primitives

public enum ControlRequest: Sendable, Equatable {
    case status
    case clients(match: Glob?)
    case client(id: String)
    case kick(id: String, note: String?)
    case reload
    case upgrade
    case watch

    /// The longest request line, its `\n` included.
    public static let maxLine = 4_096
    /// The longest `--reason` text.
    public static let maxNote = 256

    /// Parses one line without its `\n`.
    public init(parsing line: some Collection<UInt8>) throws(ControlError) {
        var bytes = Array(line)
        if bytes.last == 0x0D { bytes.removeLast() }
        guard bytes.count < Self.maxLine else { throw .requestTooLong(limit: Self.maxLine) }
        if let bad = bytes.first(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .badRequest("control byte 0x\(bad < 16 ? "0" : "")\(String(bad, radix: 16)) in the request")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .badRequest("the request is not valid UTF-8")
        }
        var words = Words(text)
        guard let verb = words.next() else { throw .badRequest("empty request") }
        switch verb {
        case "status":
            try words.end(verb)
            self = .status
        case "clients":
            var pattern: Glob?
            if let option = words.next() {
                guard option == "--match", let text = words.next() else {
                    throw .badRequest("clients takes only --match GLOB")
                }
                pattern = try Glob(text)
            }
            try words.end(verb)
            self = .clients(match: pattern)
        case "client":
            let id = try Self.clientID(words.next(), verb)
            try words.end(verb)
            self = .client(id: id)
        case "kick":
            let id = try Self.clientID(words.next(), verb)
            var note: String?
            if let option = words.next() {
                guard option == "--reason" else { throw .badRequest("kick takes only --reason TEXT after the id") }
                let rest = words.rest()
                guard !rest.isEmpty else { throw .badRequest("--reason needs a text") }
                guard rest.utf8.count <= Self.maxNote else {
                    throw .badRequest("--reason text longer than \(Self.maxNote) bytes")
                }
                note = rest
            }
            self = .kick(id: id, note: note)
        case "reload":
            try words.end(verb)
            self = .reload
        case "watch":
            try words.end(verb)
            self = .watch
        case "upgrade":
            try words.end(verb)
            self = .upgrade
        default:
            throw .unknownCommand(verb)
        }
    }

    /// The request as the line to send, `\n` included.
    public var line: String {
        switch self {
        case .status: "status\n"
        case .clients(nil): "clients\n"
        case .clients(let pattern?): "clients --match \(pattern)\n"
        case .client(let id): "client \(id)\n"
        case .kick(let id, nil): "kick \(id)\n"
        case .kick(let id, let note?): "kick \(id) --reason \(note)\n"
        case .reload: "reload\n"
        case .watch: "watch\n"
        case .upgrade: "upgrade\n"
        }
    }

    private static func clientID(_ word: String?, _ verb: String) throws(ControlError) -> String {
        guard let word else { throw .badRequest("\(verb) needs a client id") }
        guard ClientID.isValid(word) else {
            throw .badRequest("\(word.debugDescription) is not a client id (\(ClientID.rule))")
        }
        return word
    }
}

/// Space-separated words of a request, and the rest of the line for a free text.
private struct Words {
    private let text: Substring
    private var position: Substring.Index

    init(_ text: String) {
        self.text = Substring(text)
        position = self.text.startIndex
    }

    mutating func next() -> String? {
        while position < text.endIndex, text[position] == " " { position = text.index(after: position) }
        guard position < text.endIndex else { return nil }
        let start = position
        while position < text.endIndex, text[position] != " " { position = text.index(after: position) }
        return String(text[start..<position])
    }

    /// Everything after the current word, without the spaces around it.
    mutating func rest() -> String {
        let rest = text[position...].drop { $0 == " " }
        position = text.endIndex
        var trimmed = rest
        while trimmed.last == " " { trimmed.removeLast() }
        return String(trimmed)
    }

    mutating func end(_ verb: String) throws(ControlError) {
        if let extra = next() { throw .badRequest("\(verb) takes no \(extra.debugDescription)") }
    }
}
