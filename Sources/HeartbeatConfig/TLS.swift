// [tls]: the TLS listeners (beside the plain `listen` list), the certificate chain and key they serve,
// the CA whose client certificates they require (if any), and how long a handshake may take.
// Whether the files hold what OpenSSL wants is checked where they are loaded (heartbeatd), by key name.

extension Config {
    public struct TLS: Sendable, Equatable {
        /// Empty: no TLS listener. Port 0 lets the kernel pick (tests).
        public var listen: [ListenAddress]
        /// The certificate chain, PEM: the server's certificate first, then intermediates.
        public var certificate: String
        /// The private key, PEM; "" for systemd's credential $CREDENTIALS_DIRECTORY/heartbeatd-tls-key.
        public var key: String
        /// "" for none; else clients must present a certificate from this CA whose subject CN is their id.
        public var clientCA: String
        public var handshakeTimeout: Duration

        public static let defaults = TLS(
            listen: [], certificate: "/etc/heartbeatd/tls/cert.pem", key: "", clientCA: "",
            handshakeTimeout: .seconds(5))

        /// The name of the credential systemd's LoadCredential= gives the key.
        public static let keyCredentialName = "heartbeatd-tls-key"

        /// The file to read the key from: `key` if set, else the credential in `credentialsDirectory`,
        /// else nil — an error only when `listen` is not empty.
        public func keyPath(credentialsDirectory: String?) -> String? {
            if !key.isEmpty { return key }
            guard let directory = credentialsDirectory, !directory.isEmpty else { return nil }
            return directory.hasSuffix("/")
                ? directory + Self.keyCredentialName : directory + "/" + Self.keyCredentialName
        }
    }
}

extension Config.TLS {
    init(reading table: inout TableReader) throws(ConfigError) {
        listen =
            try table.value("listen").map { value throws(ConfigError) in
                try Config.listenAddresses(value, key: table.qualified("listen"), allowsNone: true)
            } ?? Self.defaults.listen
        certificate = try Self.path(&table, "certificate", allowsEmpty: false) ?? Self.defaults.certificate
        key =
            try Self.path(&table, "key", allowsEmpty: true, empty: "$CREDENTIALS_DIRECTORY/\(Self.keyCredentialName)")
            ?? Self.defaults.key
        clientCA = try Self.path(&table, "client_ca", allowsEmpty: true, empty: "no client certificates") ?? ""
        handshakeTimeout =
            try table.duration("handshake_timeout", in: .milliseconds(100) ... .seconds(300))
            ?? Self.defaults.handshakeTimeout
    }

    private static func path(
        _ table: inout TableReader, _ key: String, allowsEmpty: Bool, empty: String = ""
    ) throws(ConfigError) -> String? {
        let expected = allowsEmpty ? "an absolute path, or \"\" for \(empty)" : "an absolute path"
        return try table.read(key, expected: expected) { value in
            value.string.flatMap { text in
                (text.isEmpty && allowsEmpty) || (text.hasPrefix("/") && !text.utf8.contains(0)) ? text : nil
            }
        }
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("tls")
        writer.set("listen", listen.map(\.description))
        writer.set("certificate", certificate)
        writer.set("key", key)
        writer.set("client_ca", clientCA)
        writer.set("handshake_timeout", handshakeTimeout)
    }
}
