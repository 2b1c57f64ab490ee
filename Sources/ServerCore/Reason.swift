// Why a session ended: exactly one reason per reap, named as in the glossary.

import WireProtocol

public enum Reason: String, Sendable, CaseIterable {
    case eof
    case reset
    case timeout
    case helloTimeout = "hello-timeout"
    /// A TLS handshake that did not finish within handshake_timeout.
    case handshakeTimeout = "handshake-timeout"
    /// A TLS handshake that failed: not TLS at all, a certificate refused, a protocol error.
    case handshakeFailed = "handshake-failed"
    case replaced
    case kicked
    case `protocol`
    case overload
    case shutdown
    case bye
    /// The daemon restarts and cannot hand this session over (TLS): come back (paced, Worker+Handoff).
    case restart
    /// The id is in `[auth] revoked` as of a reload.
    case revoked

    /// The line a client is told before the teardown, when there is one to tell.
    var farewell: Farewell {
        switch self {
        case .timeout, .replaced, .kicked, .shutdown, .bye, .restart, .revoked: .bye(rawValue)
        case .helloTimeout: .error(.helloTimeout, "")
        // Before the handshake is done there is no channel to say anything on.
        case .eof, .reset, .protocol, .overload, .handshakeTimeout, .handshakeFailed: .silent
        }
    }
}

/// The last line sent to a client, best effort, before `shutdown(SHUT_WR)`.
enum Farewell {
    case silent
    case bye(String)
    case error(ErrorCode, String)
}
