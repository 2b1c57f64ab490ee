// The auth secret, read by the executable at start and on every reload (never from the command line):
// `auth.secret_file`, else systemd's credential $CREDENTIALS_DIRECTORY/heartbeatd-secret. A file that
// group or others can open is refused, like ssh refuses such a private key.
import DeviceKeys
import HeartbeatConfig
import Posix

enum SecretFile {
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// The secret to check tokens with, or nil when auth is off. Errors name the file and say what to do.
    static func load(
        for auth: Config.Auth,
        credentialsDirectory: String? = environment("CREDENTIALS_DIRECTORY")
    ) throws(LoadError) -> [UInt8]? {
        guard auth.mode == .hmac else { return nil }
        guard let path = auth.secretPath(credentialsDirectory: credentialsDirectory) else {
            throw LoadError(
                description: """
                    auth.mode is "hmac" but there is no secret: set auth.secret_file, or give the service the \
                    credential (LoadCredential=\(Config.Auth.credentialName):/path/to/secret)
                    """)
        }
        // The mode is checked on the file a symlink points to: that is what gets read. The file's
        // directory belongs to the operator, so the gap between this check and the read is theirs too.
        guard let (isRegular, mode) = FileSystem.regularFileMode(of: path) else {
            throw LoadError(
                description: "secret file \(path) does not exist or cannot be examined (auth.mode is \"hmac\")"
            )
        }
        guard isRegular else {
            throw LoadError(description: "secret file \(path) is not a regular file")
        }
        if mode & 0o077 != 0 {
            throw LoadError(
                description: """
                    secret file \(path) is open to group or others (mode \(octal(mode))); \
                    refusing to use it: run chmod 600 \(path)
                    """)
        }
        let contents: [UInt8]
        do throws(SystemError) {
            contents = try FileSystem.read(path, limit: 65_536)
        } catch {
            throw LoadError(description: "secret file \(path): cannot read: \(error.errno.meaning)")
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

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
