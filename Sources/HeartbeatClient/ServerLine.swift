// The server's side of protocol v1 as a client reads it: OK, PONG, ERR and BYE lines, decoded from
// one framed line of printable ASCII.

/// One line from the server.
enum ServerLine: Equatable {
    /// `OK <id> interval=<ms> timeout=<ms>`.
    case ok(id: String, intervalMS: UInt64, timeoutMS: UInt64)
    /// `PONG [<tag>]`.
    case pong(tag: String?)
    /// `ERR <code> [<text>]`.
    case error(code: String, detail: String)
    /// `BYE <reason>`.
    case bye(reason: String)

    /// Decodes `text` (a line without its `\n`); nil when it is none of the four.
    init?(_ text: Substring) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        guard let verb = words.first else { return nil }
        switch verb {
        case "OK":
            guard words.count == 4,
                  let interval = Self.value(of: "interval", in: words[2]),
                  let timeout = Self.value(of: "timeout", in: words[3])
            else { return nil }
            self = .ok(id: String(words[1]), intervalMS: interval, timeoutMS: timeout)
        case "PONG":
            guard words.count <= 2 else { return nil }
            self = .pong(tag: words.count == 2 ? String(words[1]) : nil)
        case "ERR":
            guard words.count >= 2 else { return nil }
            self = .error(code: String(words[1]), detail: words.dropFirst(2).joined(separator: " "))
        case "BYE":
            self = .bye(reason: words.dropFirst().joined(separator: " "))
        default:
            return nil
        }
    }

    /// The number in `key=<digits>`, or nil.
    private static func value(of key: String, in word: Substring) -> UInt64? {
        guard word.hasPrefix(key + "=") else { return nil }
        return UInt64(word.dropFirst(key.count + 1))
    }
}
