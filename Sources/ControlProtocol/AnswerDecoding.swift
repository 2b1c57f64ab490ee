// Reading answers back. The models are `Decodable`, which is the standard library's, so the daemon
// links no decoder; heartbeatctl brings FoundationEssentials' JSONDecoder, and a DecodingError
// becomes a ControlError that names the member and what was wrong with it.

/// The members that tell what kind of line it is: `"ok"` ends an answer (true) or is an error
/// answer (false, with its `error` code and `message`); records and events have no `"ok"`.
public struct AnswerHead: Decodable, Sendable, Equatable {
    public var ok: Bool?
    public var error: String?
    public var message: String?

    /// The error an `"ok":false` line carries; nil for any other line.
    public var failure: ControlError? {
        guard ok == false else { return nil }
        return .answered(code: error ?? "unknown", message: message ?? "")
    }
}

extension ControlError {
    /// What a decoder found wrong, as one sentence; `line` is the text it read, shown (shortened)
    /// when it is not a JSON object at all.
    public init(_ error: DecodingError, line: String) {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty,
            .typeMismatch(_, let context) where context.codingPath.isEmpty:
            self = .badJSON(line: line.count > 80 ? String(line.prefix(80)) + "…" : line)
        case .dataCorrupted(let context):
            self = .badAnswer("the answer's \(Self.member(context.codingPath)) \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            self = .badAnswer("the answer has no \(Self.member(context.codingPath + [key]))")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            self = .badAnswer("the answer's \(Self.member(context.codingPath)) is not \(Self.kind(type))")
        @unknown default:
            self = .badAnswer("\(error)")
        }
    }

    /// `"reaps.eof"`: the path to a member, quoted, dotted, array elements by index.
    private static func member(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".").debugDescription
    }

    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int64.Type, is Int.Type, is UInt64.Type: "an integer"
        default: "\(type)"
        }
    }
}

extension KeyedDecodingContainer {
    /// A member the protocol writes as a non-negative integer (a count, milliseconds, a worker).
    func count(_ key: Key) throws -> UInt64 {
        let value = try decode(Int64.self, forKey: key)
        guard value >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "is negative (\(value))")
        }
        return UInt64(value)
    }

    /// An object of counts by name, e.g. `reaps`: JSON objects have no order, so it comes back
    /// sorted, the largest count first and then by name.
    func counts(_ key: Key) throws -> [(name: String, count: UInt64)] {
        let members = try nestedContainer(keyedBy: MemberKey.self, forKey: key)
        let counts = try members.allKeys.map { name in (name: name.stringValue, count: try members.count(name)) }
        return counts.sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
    }
}

/// Any member name: for objects whose keys are data (reap reasons, errno names).
struct MemberKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
