// Why a hand-off state blob was refused: the successor logs this one line and starts clean.

public enum HandoffError: Error, Equatable, CustomStringConvertible {
    /// No state came with the descriptors (no memfd, or an empty one).
    case missing
    case truncated(size: Int)
    case notState
    /// Written by another version of heartbeatd (a downgrade, or an upgrade across a format change).
    case otherVersion(found: UInt16, expected: UInt16)
    case checksum
    case inconsistent(String)

    public var description: String {
        switch self {
        case .missing: "no state came with the handed-over descriptors"
        case .truncated(let size): "the state is truncated (\(size) bytes)"
        case .notState: "the state memfd does not hold heartbeatd state"
        case .otherVersion(let found, let expected):
            "the state is format version \(found); this build reads \(expected)"
        case .checksum: "the state's checksum does not match"
        case .inconsistent(let what): "the state is inconsistent: \(what)"
        }
    }
}
