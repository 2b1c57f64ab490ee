// The one error type of ClusterSchema: what was wrong with something read from Redis. The daemon
// and heartbeatctl log it and skip that key or entry.

public enum SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The record or entry carries `v` other than the one this version writes.
    case otherVersion(String)
    case missingField(String)
    case badField(String, String)

    public var description: String {
        switch self {
        case .otherVersion(let version): "written by another version (v=\(version))"
        case .missingField(let name): "has no \(name) field"
        case .badField(let name, let value): "has a bad \(name): \"\(value.prefix(80))\""
        }
    }
}

func number(_ fields: [String: String], _ name: String) throws(SchemaError) -> UInt64 {
    guard let text = fields[name] else { throw .missingField(name) }
    guard let value = UInt64(text) else { throw .badField(name, text) }
    return value
}

func text(_ fields: [String: String], _ name: String) throws(SchemaError) -> String {
    guard let value = fields[name] else { throw .missingField(name) }
    return value
}
