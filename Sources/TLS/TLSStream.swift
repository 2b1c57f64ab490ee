// One TLS connection over a non-blocking socket: handshake, read, write, shutdown. No call blocks;
// each says what it waits for (`wantRead`, `wantWrite`), which the caller turns into epoll interest.
// The socket stays its owner's: SSL_free does not close it (OpenSSL's socket BIO is BIO_NOCLOSE).
import COpenSSL
import Posix

public final class TLSStream {
    let ssl: OpaquePointer

    /// What a handshake step, read or write needs before it can go on.
    public enum Progress: Equatable, Sendable {
        /// Handshake: finished. Read/write: `count` bytes moved (a read of 0 is not used; see `closed`).
        case done(Int)
        case wantRead
        case wantWrite
        /// The peer sent close_notify, or closed its side (SSL_OP_IGNORE_UNEXPECTED_EOF makes both the same).
        case closed
    }

    init(context: OpaquePointer, descriptor: DescriptorID) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw .drained(.setup, call: "SSL_new") }
        self.ssl = ssl
        guard SSL_set_fd(ssl, descriptor.rawValue) == 1 else { throw .drained(.setup, call: "SSL_set_fd") }
    }

    deinit { SSL_free(ssl) }

    /// One step of the handshake. The corresponding C function is `SSL_do_handshake(3)`.
    public func handshake() throws(TLSError) -> Progress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        return try progress(result, call: "SSL_do_handshake", duringHandshake: true)
    }

    /// Application bytes into `buffer` (at most one TLS record's worth). The corresponding C function is `SSL_read(3)`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> Progress {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return try progress(result, call: "SSL_read", duringHandshake: false)
    }

    /// Sends what it can of `bytes` (partial writes on). After `wantWrite`/`wantRead` the caller retries
    /// with the same bytes at the front, from wherever it keeps them. The corresponding C function is `SSL_write(3)`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Progress {
        guard !bytes.isEmpty else { return .done(0) }
        ERR_clear_error()
        let result = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        return try progress(result, call: "SSL_write", duringHandshake: false)
    }

    /// Sends close_notify if the socket takes it now; one attempt, no waiting for the peer's.
    /// The corresponding C function is `SSL_shutdown(3)`.
    public func shutdown() {
        ERR_clear_error()
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
    }

    /// Whether the handshake resumed a session (a ticket) instead of a full exchange.
    public var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The subject common name of the peer's verified certificate, or nil (no certificate, none or two
    /// common names, an embedded NUL). The certificate reference is dropped at once.
    public func peerCommonName() -> String? {
        guard SSL_get_verify_result(ssl) == X509_V_OK, let certificate = SSL_get1_peer_certificate(ssl) else {
            return nil
        }
        defer { X509_free(certificate) }
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        let first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard first >= 0, X509_NAME_get_index_by_NID(subject, NID_commonName, first) < 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(subject, NID_commonName, &buffer, Int32(buffer.count))
        guard length > 0, length < buffer.count - 1 else { return nil }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        guard !bytes.contains(0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The session to resume a later connection with (clients only; TLS 1.3 tickets arrive after the
    /// handshake, with the first read). The corresponding C function is `SSL_get1_session(3)`.
    public func session() -> TLSSession? {
        SSL_get1_session(ssl).map(TLSSession.init)
    }

    /// Offer `session` in this (client) stream's handshake. The corresponding C function is `SSL_set_session(3)`.
    public func resume(_ session: TLSSession) {
        _ = SSL_set_session(ssl, session.pointer)
    }

    private func progress(_ result: Int32, call: String, duringHandshake: Bool) throws(TLSError) -> Progress {
        if result > 0 { return .done(duringHandshake ? 0 : Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            if duringHandshake { throw TLSError(kind: .eof, call: call, message: "the peer closed the connection") }
            return .closed
        case SSL_ERROR_SYSCALL:
            let error = TLSError.drained(
                result == 0 ? .eof : .reset, call: call,
                fallback: result == 0 ? "the peer closed the connection" : "the connection failed (socket error)")
            if !duringHandshake, error.kind == .eof { return .closed }
            throw error
        default:
            throw verificationFailure(call: call) ?? .drained(.protocol, call: call)
        }
    }

    /// A certificate check that failed says why in the verify result, more precisely than the error queue.
    private func verificationFailure(call: String) -> TLSError? {
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK else { return nil }
        ERR_clear_error()
        let text = String(cString: X509_verify_cert_error_string(result))
        let expired = result == X509_V_ERR_CERT_HAS_EXPIRED || result == X509_V_ERR_CERT_NOT_YET_VALID
        return TLSError(
            kind: expired ? .expiredCertificate : .untrustedCertificate, call: call,
            message: "certificate verify failed: \(text)")
    }
}

/// A client's session from an earlier connection, to resume with.
public final class TLSSession: @unchecked Sendable {
    // @unchecked: an SSL_SESSION is reference counted by OpenSSL and not changed after the handshake.
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { SSL_SESSION_free(pointer) }
}
