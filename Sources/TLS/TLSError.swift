// The one error type of the TLS module: what failed (a kind a metric can be labelled with), the
// OpenSSL call, and OpenSSL's own error text from its per-thread error queue.
import COpenSSL

public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The first bytes were not a TLS record: plaintext, an HTTP request, garbage.
        case notTLS = "not-tls"
        /// The peer's certificate does not chain to a trusted CA (or fails another check, e.g. the name).
        case untrustedCertificate = "unknown-ca"
        /// The peer's certificate is expired or not valid yet.
        case expiredCertificate = "expired"
        /// A client certificate is required and none came.
        case noCertificate = "no-certificate"
        /// The peer closed the connection in the middle of the handshake.
        case eof
        /// The connection was reset (a socket error under OpenSSL).
        case reset
        /// Any other TLS failure: a bad message, no common version or cipher, an alert from the peer.
        case `protocol`
        /// Verdicts a server adds, not OpenSSL: the handshake did not finish in time, or the HELLO id is
        /// not the client certificate's.
        case timeout
        case idMismatch = "id-mismatch"
        /// Setting up a context: a certificate, key or CA file OpenSSL would not take.
        case certificateFile = "certificate-file"
        case keyFile = "key-file"
        case keyMismatch = "key-mismatch"
        case clientCAFile = "client-ca-file"
        /// OpenSSL could not allocate or configure an object.
        case setup
    }

    /// The kinds a connection's handshake can end with (metrics are labelled with each): all but the setup ones.
    public static let handshakeFailures: [Kind] = [
        .notTLS, .untrustedCertificate, .expiredCertificate, .noCertificate, .eof, .reset, .protocol, .timeout,
        .idMismatch,
    ]

    public var kind: Kind
    /// The OpenSSL function that failed, e.g. `SSL_do_handshake`.
    public var call: String
    /// OpenSSL's error strings, joined with "; " (or a sentence of ours when its queue was empty).
    public var message: String

    public init(kind: Kind, call: String, message: String) {
        self.kind = kind
        self.call = call
        self.message = message
    }

    public var description: String { "\(call): \(message)" }

    /// Empties the calling thread's error queue into one error. `kind` is the caller's guess when no
    /// reason in the queue says better (see `classified`).
    static func drained(_ kind: Kind, call: String, fallback: String = "failed") -> TLSError {
        var texts: [String] = []
        var first: UInt = 0
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if first == 0 { first = code }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            texts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let message = texts.isEmpty ? fallback : texts.joined(separator: "; ")
        return TLSError(kind: first == 0 ? kind : classified(first, otherwise: kind), call: call, message: message)
    }

    /// The few OpenSSL reasons a metric should tell apart.
    private static func classified(_ code: UInt, otherwise kind: Kind) -> Kind {
        // Reason numbers are per library: look only at libssl's, and at x509's one that matters here.
        if ERR_GET_LIB(code) == ERR_LIB_X509, ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH { return .keyMismatch }
        guard ERR_GET_LIB(code) == ERR_LIB_SSL else { return kind }
        switch ERR_GET_REASON(code) {
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_PACKET_LENGTH_TOO_LONG,
            SSL_R_UNKNOWN_PROTOCOL, SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_WRONG_SSL_VERSION:
            return .notTLS
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return .noCertificate
        case SSL_R_CERTIFICATE_VERIFY_FAILED: return .untrustedCertificate
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: return .expiredCertificate
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE: return .untrustedCertificate
        default: return kind
        }
    }
}
