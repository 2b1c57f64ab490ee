// What auth needs from files, read by the executable at start and on every reload (never from the command
// line): the secret (`auth.secret_file`, else systemd's credential $CREDENTIALS_DIRECTORY/heartbeatd-secret),
// during a rotation the previous one, and the revoked ids. A secret file group or others can open is
// refused, like ssh refuses such a private key.
import DeviceKeys
import HeartbeatConfig
import Posix

/// The secrets in force (current first, then the previous one while rotating) and the revoked ids.
struct AuthMaterial: Sendable {
    var secrets: [[UInt8]] = []
    var revoked: Set<String> = []
    /// The files the secrets came from, in the same order, for the log.
    var secretPaths: [String] = []

    static let none = AuthMaterial()
}

enum SecretFile {
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Everything `auth` names; `.none` when auth is off. Errors name the file and say what to do.
    static func material(
        for auth: Config.Auth, credentialsDirectory: String? = environment("CREDENTIALS_DIRECTORY")
    ) throws(LoadError) -> AuthMaterial {
        guard auth.isOn else { return .none }
        var material = AuthMaterial()
        guard let path = auth.secretPath(credentialsDirectory: credentialsDirectory) else {
            throw LoadError(
                description: """
                    auth.mode is "\(auth.mode.rawValue)" but there is no secret: set auth.secret_file, or give the \
                    service the credential (LoadCredential=\(Config.Auth.credentialName):/path/to/secret)
                    """)
        }
        material.secrets.append(try load(path, mode: auth.mode))
        material.secretPaths.append(path)
        if let previous = auth.previousSecretPath(credentialsDirectory: credentialsDirectory),
            !auth.previousSecretFile.isEmpty || FileSystem.regularFileMode(of: previous) != nil
        {
            material.secrets.append(try load(previous, mode: auth.mode))
            material.secretPaths.append(previous)
        }
        if !auth.revoked.isEmpty { material.revoked = try revokedIDs(auth.revoked) }
        return material
    }

    private static func load(_ path: String, mode authMode: AuthMode) throws(LoadError) -> [UInt8] {
        let read: [UInt8]?
        do throws(PrivateFile.RefusedError) {
            read = try PrivateFile.read(path, what: "secret file", limit: 65_536)
        } catch {
            throw LoadError(description: error.description)
        }
        guard let contents = read else {
            throw LoadError(
                description:
                    "secret file \(path) does not exist or cannot be examined (auth.mode is \"\(authMode.rawValue)\")"
            )
        }
        let secret = DeviceKey.secret(fromFileContents: contents)
        guard secret.count >= DeviceKey.minimumSecretLength else {
            throw LoadError(
                description: """
                    secret file \(path) holds \(secret.count) bytes; at least \(DeviceKey.minimumSecretLength) \
                    are needed (e.g. openssl rand -hex 32 > \(path))
                    """)
        }
        return secret
    }

    /// The revoked-ids file (not secret: any mode will do). A bad line names the file and the line.
    private static func revokedIDs(_ path: String) throws(LoadError) -> Set<String> {
        let contents: [UInt8]
        do throws(SystemError) {
            contents = try FileSystem.read(path, limit: 16 << 20)
        } catch {
            throw LoadError(description: "revoked ids file \(path): cannot read: \(error.errno.meaning)")
        }
        do {
            return try RevokedIDs.parse(String(decoding: contents, as: UTF8.self))
        } catch {
            throw LoadError(description: "revoked ids file \(path): \(error)")
        }
    }
}
