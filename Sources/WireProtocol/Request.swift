// What a client can say, as the Parser hands it to the server. Everything but HELLO refers to the
// caller's buffer by index range, so that the heartbeat path copies and allocates nothing.
import Primitives

/// `HELLO <id> [interval=<ms>] [token=<hex>]`, validated.
public struct Hello: Equatable, Sendable {
    /// Longest client id, in bytes.
    public static let maxIDLength = ClientID.maxLength
    /// Most digits an `interval=` value may have; 10 digits keep any value within `UInt64`.
    public static let maxIntervalDigits = 10
    /// Most hex digits a `token=` value may have.
    public static let maxTokenLength = 128

    /// 1–64 bytes of `A–Z a–z 0–9 . _ : @ -`.
    public var id: String
    /// The client's proposal, unclamped (0...9_999_999_999); the server clamps it.
    public var intervalMS: UInt64?
    /// Hex digits, lower-cased here so the server compares one spelling.
    public var token: String?

    public init(id: String, intervalMS: UInt64? = nil, token: String? = nil) {
        self.id = id
        self.intervalMS = intervalMS
        self.token = token
    }
}

/// One parsed line.
public enum Request: Equatable, Sendable {
    /// Longest PING tag, in bytes.
    public static let maxTagLength = 32
    /// An AUTH line's MAC: HMAC-SHA256 as hex, exactly this many digits.
    public static let authMACLength = 64

    /// HELLO, whether or not it is the session's first line: the server decides what a repeat means.
    case hello(Hello)
    /// `PING` or `PING <tag>`; the tag is a range into the buffer, to be echoed in PONG.
    case ping(tag: Range<Int>?)
    case bye
    /// An empty line or only spaces. The server counts it as a heartbeat without a reply.
    case empty
    /// `AUTH <64 hex digits>`: the answer to `CHALLENGE` (challenge auth); the range covers the digits,
    /// upper or lower case as sent. Whether one was due is the server's question, not the parser's.
    case auth(mac: Range<Int>)
    /// A verb other than HELLO, PING, BYE or AUTH (these are case-sensitive); the rest of the line is
    /// not looked at. The server answers `ERR unknown-command <verb>`.
    case other(verb: Range<Int>)
}
