// One OpenSSL SSL_CTX: the certificate chain and key a listener serves (or a client's trust and its own
// certificate), TLS 1.2 and 1.3 under the system's cipher policy, session tickets, small idle sessions.
// A reload builds a new context; streams made from the old one keep it alive until they end.
import COpenSSL
import Posix

public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is configured completely in the factory functions below and only read
    // afterwards (SSL_new from any worker thread), which OpenSSL makes thread-safe with its own locks.
    let pointer: OpaquePointer
    /// Server: a client certificate is required (client_ca set). Client: the server's certificate is checked.
    public let verifiesPeer: Bool

    private init(_ pointer: OpaquePointer, verifiesPeer: Bool) {
        self.pointer = pointer
        self.verifiesPeer = verifiesPeer
    }

    deinit { SSL_CTX_free(pointer) }

    /// A listener's context. `clientCA` set: every client must present a certificate issued by it.
    /// Errors say which file OpenSSL refused (kind `.certificateFile`, `.keyFile`, `.keyMismatch`,
    /// `.clientCAFile`). The corresponding C functions are `SSL_CTX_use_certificate_chain_file(3)` and friends.
    public static func server(certificateChain: String, privateKey: String, clientCA: String?)
        throws(TLSError) -> TLSContext
    {
        // Made first, so a step that throws frees the SSL_CTX with the object (deinit).
        let context = TLSContext(try make(TLS_server_method()), verifiesPeer: clientCA != nil)
        let pointer = context.pointer
        guard SSL_CTX_use_certificate_chain_file(pointer, certificateChain) == 1 else {
            throw .drained(.certificateFile, call: "SSL_CTX_use_certificate_chain_file")
        }
        guard SSL_CTX_use_PrivateKey_file(pointer, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw .drained(.keyFile, call: "SSL_CTX_use_PrivateKey_file")
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw .drained(.keyMismatch, call: "SSL_CTX_check_private_key")
        }
        // Tickets carry the session to the client (stateless, TLS 1.3 with a fresh ECDHE exchange each
        // time), so the server keeps no session cache that would grow with every handshake. One ticket
        // per handshake instead of OpenSSL's two: a device reconnects from one place.
        _ = hb_SSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_OFF))
        _ = SSL_CTX_set_num_tickets(pointer, 1)
        // Resumption with client certificates needs a session id context, or OpenSSL refuses the ticket.
        let contextName: [UInt8] = Array("heartbeatd".utf8)
        _ = SSL_CTX_set_session_id_context(pointer, contextName, UInt32(contextName.count))
        guard let clientCA else { return context }
        guard SSL_CTX_load_verify_locations(pointer, clientCA, nil) == 1,
            let names = SSL_load_client_CA_file(clientCA)
        else {
            throw .drained(.clientCAFile, call: "SSL_CTX_load_verify_locations")
        }
        SSL_CTX_set_client_CA_list(pointer, names)
        SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        return context
    }

    /// A client's context (tests, heartbeat-bench): trust `trusting` (PEM file), or the system store
    /// when nil; `verifyPeer` false skips the server's certificate check (the bench's `--insecure`).
    public static func client(
        trusting: String?, certificate: String? = nil, privateKey: String? = nil, verifyPeer: Bool = true
    ) throws(TLSError) -> TLSContext {
        let context = TLSContext(try make(TLS_client_method()), verifiesPeer: verifyPeer)
        let pointer = context.pointer
        if verifyPeer {
            let loaded =
                if let trusting { SSL_CTX_load_verify_locations(pointer, trusting, nil) } else {
                    SSL_CTX_set_default_verify_paths(pointer)
                }
            guard loaded == 1 else { throw .drained(.clientCAFile, call: "SSL_CTX_load_verify_locations") }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
        }
        if let certificate {
            guard SSL_CTX_use_certificate_chain_file(pointer, certificate) == 1 else {
                throw .drained(.certificateFile, call: "SSL_CTX_use_certificate_chain_file")
            }
            guard SSL_CTX_use_PrivateKey_file(pointer, privateKey ?? certificate, SSL_FILETYPE_PEM) == 1 else {
                throw .drained(.keyFile, call: "SSL_CTX_use_PrivateKey_file")
            }
        }
        // Keep the sessions for resumption (SSL_get1_session); OpenSSL's client cache is not used.
        _ = hb_SSL_CTX_set_session_cache_mode(pointer, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        return context
    }

    /// TLS 1.2 at least, the system's ciphers (Debian's openssl.cnf policy, not ours), no renegotiation,
    /// a peer that closes without close_notify is an ordinary end of stream, and idle buffers released.
    private static func make(_ method: OpaquePointer?) throws(TLSError) -> OpaquePointer {
        // OpenSSL writes with write(2): without this a peer's reset would be a SIGPIPE, not an error.
        ignoreBrokenPipe()
        ERR_clear_error()
        guard let pointer = SSL_CTX_new(method) else { throw .drained(.setup, call: "SSL_CTX_new") }
        // TLS 1.2 is the floor; it cannot fail for a known version constant.
        _ = hb_SSL_CTX_set_min_proto_version(pointer, TLS1_2_VERSION)
        _ = SSL_CTX_set_options(pointer, hb_SSL_OP_NO_RENEGOTIATION() | hb_SSL_OP_IGNORE_UNEXPECTED_EOF())
        // RELEASE_BUFFERS: an idle connection holds no 16 KiB read and write buffers (≈ 33 → 17 KB each).
        // PARTIAL_WRITE and MOVING_WRITE_BUFFER: a write the kernel takes in part returns what it took, and
        // the rest is retried from wherever the caller keeps it (the worker's `unsent` bytes).
        _ = hb_SSL_CTX_set_mode(
            pointer,
            Int(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        return pointer
    }

    /// A server-side stream on an accepted, non-blocking socket. The socket stays the caller's: freeing
    /// the stream does not close it. The corresponding C functions are `SSL_new(3)` and `SSL_set_fd(3)`.
    public func accept(_ descriptor: DescriptorID) throws(TLSError) -> TLSStream {
        let stream = try TLSStream(context: pointer, descriptor: descriptor)
        SSL_set_accept_state(stream.ssl)
        return stream
    }

    /// A client-side stream; `serverName` (a host name or an address literal) is sent as SNI when it is
    /// a name and checked against the server's certificate when this context verifies.
    public func connect(_ descriptor: DescriptorID, serverName: String?) throws(TLSError) -> TLSStream {
        let stream = try TLSStream(context: pointer, descriptor: descriptor)
        SSL_set_connect_state(stream.ssl)
        if let serverName {
            let isAddress = SocketAddress(host: serverName, port: 0) != nil
            if isAddress {
                if verifiesPeer { X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream.ssl), serverName) }
            } else {
                _ = hb_SSL_set_tlsext_host_name(stream.ssl, serverName)
                if verifiesPeer { SSL_set1_host(stream.ssl, serverName) }
            }
        }
        return stream
    }
}
