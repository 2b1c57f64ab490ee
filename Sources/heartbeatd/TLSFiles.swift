// The TLS listeners' certificate chain, key and client CA, loaded into an OpenSSL context at start and
// on every reload (a file that fails keeps the running context, as a bad config does). The key comes
// from `tls.key`, else systemd's credential $CREDENTIALS_DIRECTORY/heartbeatd-tls-key.
import HeartbeatConfig
import Posix
import TLS

enum TLSFiles {
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// A PEM file is a few KiB; a chain with intermediates a little more.
    static let maximumSize = 1 << 20

    /// The context for `tls.listen`, or nil when there is none. Errors name the key and the file.
    static func load(
        _ tls: Config.TLS, credentialsDirectory: String? = environment("CREDENTIALS_DIRECTORY")
    ) throws(LoadError) -> TLSContext? {
        guard !tls.listen.isEmpty else { return nil }
        guard let keyPath = tls.keyPath(credentialsDirectory: credentialsDirectory) else {
            throw LoadError(
                description: """
                    tls.key: tls.listen is set but there is no key: set tls.key, or give the service the \
                    credential (LoadCredential=\(Config.TLS.keyCredentialName):/etc/heartbeatd/tls/key.pem)
                    """)
        }
        try checkReadable(tls.certificate, key: "tls.certificate")
        try checkReadable(keyPath, key: "tls.key")
        if !tls.clientCA.isEmpty { try checkReadable(tls.clientCA, key: "tls.client_ca") }
        do {
            return try TLSContext.server(
                certificateChain: tls.certificate, privateKey: keyPath,
                clientCA: tls.clientCA.isEmpty ? nil : tls.clientCA)
        } catch {
            let (key, path, what): (String, String, String) =
                switch error.kind {
                case .keyFile: ("tls.key", keyPath, "is not a PEM private key OpenSSL can use")
                case .keyMismatch: ("tls.key", keyPath, "does not match the certificate in \(tls.certificate)")
                case .clientCAFile: ("tls.client_ca", tls.clientCA, "holds no CA certificate OpenSSL can use")
                default: ("tls.certificate", tls.certificate, "is not a PEM certificate chain OpenSSL can use")
                }
            throw LoadError(description: "\(key): \(path) \(what) (\(error))")
        }
    }

    private static func checkReadable(_ path: String, key: String) throws(LoadError) {
        do {
            _ = try FileSystem.read(path, limit: maximumSize)
        } catch {
            throw LoadError(description: "\(key): \(path): cannot read: \(error.errno.meaning)")
        }
    }
}
