// [auth]: whether a client must prove its id with a token = HMAC-SHA256(secret, id) (DESIGN.md §7),
// and where the secret is. The secret itself is never in the config file nor on the command line.
import TOMLKit

extension Config {
    public struct Auth: Sendable, Equatable {
        public var mode: AuthMode
        /// An absolute path, or "" for systemd's credential: $CREDENTIALS_DIRECTORY/heartbeatd-secret
        /// (LoadCredential=heartbeatd-secret:...). See secretPath(credentialsDirectory:).
        public var secretFile: String

        public static let defaults = Auth(mode: .off, secretFile: "")

        /// The name of the credential systemd's LoadCredential= gives the secret.
        public static let credentialName = "heartbeatd-secret"

        /// The file to read the secret from: secret_file if set, else the credential in
        /// `credentialsDirectory` (the daemon passes $CREDENTIALS_DIRECTORY), else nil — which is an
        /// error only when mode is hmac.
        public func secretPath(credentialsDirectory: String?) -> String? {
            if !secretFile.isEmpty { return secretFile }
            guard let directory = credentialsDirectory, !directory.isEmpty else { return nil }
            return directory.hasSuffix("/") ? directory + Self.credentialName : directory + "/" + Self.credentialName
        }
    }
}

public enum AuthMode: String, Sendable, CaseIterable {
    /// Any client may claim any id.
    case off
    /// HELLO must carry token=<lowercase hex HMAC-SHA256(secret, id)>.
    case hmac
}

extension Config.Auth {
    init(reading table: inout TableReader) throws(ConfigError) {
        let names = AuthMode.allCases.map { tomlQuoted($0.rawValue) }.joined(separator: " or ")
        mode =
            try table.read("mode", expected: names) { $0.string.flatMap(AuthMode.init(rawValue:)) }
            ?? Self.defaults.mode
        secretFile =
            try table.read(
                "secret_file", expected: "an absolute path, or \"\" for $CREDENTIALS_DIRECTORY/\(Self.credentialName)"
            ) { value in
                value.string.flatMap { $0.isEmpty || ($0.hasPrefix("/") && !$0.utf8.contains(0)) ? $0 : nil }
            } ?? Self.defaults.secretFile
    }

    func render(into writer: inout TOMLWriter) {
        writer.section("auth")
        writer.set("mode", mode.rawValue)
        writer.set("secret_file", secretFile)
    }
}
