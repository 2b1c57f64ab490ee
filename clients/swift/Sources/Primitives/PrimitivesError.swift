// Why a piece of text is not what it was read as. Callers turn a case into their own message,
// naming their own key or flag.

public enum PrimitivesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// "[::1:7700": a "[" without its "]".
    case missingBracket
    /// No ":port" (or, after brackets, something other than ":").
    case missingPort
    /// ":7700" or "[]:7700".
    case missingHost
    /// "::1:7700": an IPv6 address needs brackets.
    case unbracketedIPv6
    /// Not 0–65535 in ASCII digits.
    case badPort

    public var description: String {
        switch self {
        case .missingBracket: "a \"[\" without its \"]\""
        case .missingPort: "no port"
        case .missingHost: "no host"
        case .unbracketedIPv6: "an IPv6 address needs brackets"
        case .badPort: "a port is 0 to 65535"
        }
    }
}
