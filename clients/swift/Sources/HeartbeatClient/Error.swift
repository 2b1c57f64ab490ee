// The client library's one error type: a code a program can switch on (refused, resolution, tls, auth, …),
// a detail for people, and the underlying error (NIO's, NIOSSL's) when there is one.

extension HeartbeatClient {
    /// Why a connection ended or never came up (`State.disconnected`), or why the client stopped for good
    /// (`run()` throws it). Equal when code and detail are; the underlying error is not compared.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var code: Code
        /// For people: the host, the silence, the server's text.
        public var detail: String
        /// What NIO, NIOSSL or the system reported, when the code comes from such an error.
        public var underlying: (any Swift.Error)?

        public init(_ code: Code, _ detail: String, underlying: (any Swift.Error)? = nil) {
            self.code = code
            self.detail = detail
            self.underlying = underlying
        }

        public static func == (left: Error, right: Error) -> Bool {
            left.code == right.code && left.detail == right.detail
        }

        public var description: String { detail.isEmpty ? "\(code)" : "\(code): \(detail)" }

        /// A struct rather than an enum, so that a new code is not a breaking change for a `switch`.
        public struct Code: Sendable, Hashable, CustomStringConvertible {
            public let name: String
            private init(_ name: String) { self.name = name }
            public var description: String { name }

            /// Every address refused the connection (nothing listens there).
            public static let refused = Code("refused")
            /// No route, network down, or another socket error while connecting.
            public static let unreachable = Code("unreachable")
            /// The name did not resolve, or the resolver did not answer within the connect timeout.
            public static let resolution = Code("resolution")
            /// No connection, or no answer to HELLO, within the connect timeout.
            public static let timeout = Code("timeout")
            /// The TLS handshake failed (the server's certificate was not trusted, say) or TLS is misconfigured.
            public static let tls = Code("tls")
            /// The server answered `ERR auth-failed` (the token or device key is missing or wrong), or asked for
            /// challenge auth without a device key set, or sent a challenge that cannot be answered. Stops the client.
            public static let auth = Code("auth")
            /// The server refused the HELLO itself (`ERR bad-hello`). Stops the client.
            public static let rejected = Code("rejected")
            /// The server sent something that is not protocol v1.
            public static let `protocol` = Code("protocol")
            /// The server said `BYE replaced`: another client took over this id.
            public static let replaced = Code("replaced")
            /// No line from the server within the granted timeout: stopped, overloaded or cut off.
            public static let serverSilent = Code("server-silent")
            /// The server closed the connection without a word.
            public static let closed = Code("closed")
            /// The server said `BYE <reason>` (`shutdown`, `kicked`, `timeout`); the detail is the reason.
            public static let bye = Code("bye")
            /// The server said `ERR <code>` (other than auth-failed and bad-hello); the detail is its text.
            public static let serverError = Code("server-error")
            /// A socket error on an open connection: reset by the peer, a broken pipe, TCP_USER_TIMEOUT.
            public static let connection = Code("connection")
            /// The configuration cannot work (an id with a forbidden byte, a token that is not hex, a token and a device key both set, …).
            public static let invalidConfiguration = Code("invalid-configuration")
            /// `run()` was called a second time; the first run goes on undisturbed.
            public static let alreadyRunning = Code("already-running")
        }
    }
}
