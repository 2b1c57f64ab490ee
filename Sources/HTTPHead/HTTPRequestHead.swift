// The head of an HTTP/1.x request as the metrics endpoint reads it: where it ends and what its first line
// asks for. Pure (bytes in, a route out), so the bytes a scraper or a stranger sends can be fuzzed alone.

/// The first line of an HTTP/1.x request, once the whole head (up to the blank line) is in.
public struct HTTPRequestHead: Equatable, Sendable {
    public enum Route: Equatable, Sendable { case metrics, wrongMethod, notFound, malformed }
    public let route: Route

    /// nil while the head is incomplete.
    public init?(_ bytes: [UInt8]) {
        guard let end = Self.endOfHead(bytes) else { return nil }
        let lineEnd = bytes[..<end].firstIndex(of: UInt8(ascii: "\n")) ?? end
        var line = bytes[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let words = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard words.count == 3, let version = String(validating: words[2], as: UTF8.self),
            version == "HTTP/1.1" || version == "HTTP/1.0",
            let target = String(validating: words[1], as: UTF8.self), target.hasPrefix("/")
        else {
            route = .malformed
            return
        }
        // Prometheus sends no query; one is ignored rather than refused.
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if path != "/metrics" {
            route = .notFound
        } else if !words[0].elementsEqual("GET".utf8) {
            route = .wrongMethod
        } else {
            route = .metrics
        }
    }

    /// The index just past the blank line ending the head ("\r\n\r\n", or a bare "\n\n"), or nil.
    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        var newlines = 0
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "\n"):
                newlines += 1
                if newlines == 2 { return index + 1 }
            case UInt8(ascii: "\r"):
                continue
            default:
                newlines = 0
            }
        }
        return nil
    }
}
