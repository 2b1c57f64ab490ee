// [auth]: how a client proves its id with its device key HMAC-SHA256(secret, id) (docs/protocol.md): not at
// all, a replayable token in HELLO, or a challenge-response; where the secret (and, while rotating, the
// previous one) is; and which ids are revoked. The secrets are never in the config file nor on the command line.
import Primitives

extension Config {
    public struct Auth: Sendable, Equatable {
        public var mode: AuthMode
        /// An absolute path, or "" for systemd's credential: $CREDENTIALS_DIRECTORY/heartbeatd-secret
        /// (LoadCredential=heartbeatd-secret:...). See secretPath(credentialsDirectory:).
        public var secretFile: String
        /// During a rotation, the secret being retired, accepted alongside the current one: an absolute
        /// path, or "" for the credential heartbeatd-previous-secret if the service has it (else none).
        public var previousSecretFile: String
        /// An absolute path to the revoked ids (one per line, `#` comments), or "" for none.
        public var revoked: String

        public static let defaults = Auth(mode: .off, secretFile: "", previousSecretFile: "", revoked: "")

        /// The name of the credential systemd's LoadCredential= gives the secret.
        public static let credentialName = "heartbeatd-secret"
        /// The credential of the previous secret during a rotation (optional).
        public static let previousCredentialName = "heartbeatd-previous-secret"

        /// Whether clients must prove their id, i.e. a secret is needed.
        public var isOn: Bool { mode != .off }

        /// The file to read the secret from: secret_file if set, else the credential in
        /// `credentialsDirectory` (the daemon passes $CREDENTIALS_DIRECTORY), else nil — which is an
        /// error only when auth is on.
        public func secretPath(credentialsDirectory: String?) -> String? {
            if !secretFile.isEmpty { return secretFile }
            return Self.credential(Self.credentialName, in: credentialsDirectory)
        }

        /// Where the previous secret would be: previous_secret_file if set, else its credential's path
        /// (which the service may not have: then there is no previous secret).
        public func previousSecretPath(credentialsDirectory: String?) -> String? {
            if !previousSecretFile.isEmpty { return previousSecretFile }
            return Self.credential(Self.previousCredentialName, in: credentialsDirectory)
        }

        private static func credential(_ name: String, in directory: String?) -> String? {
            guard let directory, !directory.isEmpty else { return nil }
            return directory.hasSuffix("/") ? directory + name : directory + "/" + name
        }
    }
}

public enum AuthMode: String, Sendable, CaseIterable {
    /// Any client may claim any id.
    case off
    /// HELLO must carry token=<lowercase hex HMAC-SHA256(secret, id)>: replayable by whoever sees it.
    case hmac
    /// HELLO, then CHALLENGE <nonce> and AUTH <HMAC-SHA256(device key, nonce)>: no replayable secret on the wire.
    case challenge
}

extension Config.Auth {
    init(reading table: inout TableReader) throws(ConfigError) {
        let quoted = AuthMode.allCases.map { tomlQuoted($0.rawValue) }
        let names = quoted.dropLast().joined(separator: ", ") + " or " + quoted.last!
        mode =
            try table.read("mode", expected: names) { $0.string.flatMap(AuthMode.init(rawValue:)) }
            ?? Self.defaults.mode
        secretFile =
            try Self.path(
                &table, "secret_file", or: "\"\" for $CREDENTIALS_DIRECTORY/\(Self.credentialName)")
            ?? Self.defaults.secretFile
        previousSecretFile =
            try Self.path(
                &table, "previous_secret_file",
                or: "\"\" for $CREDENTIALS_DIRECTORY/\(Self.previousCredentialName) if present")
            ?? Self.defaults.previousSecretFile
        revoked = try Self.path(&table, "revoked", or: "\"\" for none") ?? Self.defaults.revoked
    }

    private static func path(_ table: inout TableReader, _ key: String, or empty: String) throws(ConfigError) -> String?
    {
        try table.read(key, expected: "an absolute path, or \(empty)") { value in
            value.string.flatMap { $0.isEmpty || ($0.hasPrefix("/") && !$0.utf8.contains(0)) ? $0 : nil }
        }
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("auth")
        writer.set("mode", mode.rawValue)
        writer.set("secret_file", secretFile)
        writer.set("previous_secret_file", previousSecretFile)
        writer.set("revoked", revoked)
    }
}

/// The revoked-ids file's text: one client id per line; `#` starts a comment; blank lines and spaces, tabs
/// or a `\r` around an id are ignored. A line that is not one valid id is an error naming the line.
public enum RevokedIDs {
    public static func parse(_ text: String) throws(ConfigError) -> Set<String> {
        var ids: Set<String> = []
        // Bytes, not Characters: Swift reads "\r\n" as one Character, which a split on "\n" would not cut.
        for (index, line) in Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let content = line.prefix { $0 != UInt8(ascii: "#") }
            let isBlank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            guard let first = content.firstIndex(where: { !isBlank($0) }),
                let last = content.lastIndex(where: { !isBlank($0) })
            else { continue }
            let word = String(decoding: content[first...last], as: UTF8.self)
            guard ClientID.isValid(word) else {
                throw ConfigError(
                    key: "line \(index + 1)", message: "\(quoted(word)) is not a client id (\(ClientID.rule))")
            }
            ids.insert(word)
        }
        return ids
    }

    private static func quoted(_ word: String) -> String { "\"" + word + "\"" }
}
