// `heartbeatctl token ID`: the client's device key — lowercase hex HMAC-SHA256(secret, id), the secret
// being the file's bytes less one trailing newline — which it sends as token= (`mode = "hmac"`) or keys
// AUTH with (`mode = "challenge"`). It reads the secret file, needs no daemon, and says which file it read,
// and whether the running daemon's credential copy (fixed at its start) still holds the same secret.
import ArgumentParser
import ControlProtocol
import DeviceKeys
import Posix
import Primitives

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a client's device key: its token (auth.mode hmac) or AUTH key (challenge); no daemon needed.",
        discussion: """
            The secret file defaults to $CREDENTIALS_DIRECTORY/heartbeatd-secret when set, else /etc/heartbeatd/secret \
            (the file the packaged unit hands the daemon as its credential). Which file was read goes to stderr. \
            The daemon reads its credential once, at start: if its copy differs, heartbeatctl warns that the \
            key printed is not the one the running daemon checks until it is restarted.
            """
    )

    @Argument(help: "The client id.")
    var id: String

    @Option(name: .long, help: ArgumentHelp("The file holding the secret.", valueName: "file"))
    var secretFile: String?

    @OptionGroup var output: OutputOption

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            guard ClientID.isValid(id) else {
                throw .control(.badRequest("\(id.debugDescription) is not a client id (\(ClientID.rule))"))
            }
            let path =
                secretFile ?? environment("CREDENTIALS_DIRECTORY").map { "\($0)/heartbeatd-secret" }
                ?? "/etc/heartbeatd/secret"
            let contents: [UInt8]
            do throws(SystemError) {
                contents = try FileSystem.read(path, limit: 65_536)
            } catch {
                throw .secretFile(path: path, "cannot read: \(error.errno.meaning)")
            }
            // Keys shorter than this are refused, as the daemon refuses them.
            let secret = DeviceKey.secret(fromFileContents: contents)
            guard secret.count >= DeviceKey.minimumSecretLength else {
                throw .secretFile(path: path, "must hold at least \(DeviceKey.minimumSecretLength) bytes")
            }
            let token = DeviceKey.token(secret: secret, id: id)
            let json = JSONValue.object(
                JSONObject(["id": .string(id), "token": .string(token), "secret_file": .string(path)]))
            Output.line(output.json ? json.text : token)
            Output.error("secret from \(path)")
            warnIfTheDaemonHoldsAnother(secret, readFrom: path)
        }
    }
}

/// Where systemd keeps the running service's copy of its credentials (readable by root only).
let runningCredential = "/run/credentials/heartbeatd.service/heartbeatd-secret"

/// A secret rotated on disk reaches the daemon only with a restart: say so rather than hand out a key
/// the running daemon refuses. Silent when the copy cannot be read (not root, no such service).
private func warnIfTheDaemonHoldsAnother(_ secret: [UInt8], readFrom path: String) {
    guard path != runningCredential, let copy = try? FileSystem.read(runningCredential, limit: 65_536) else { return }
    if DeviceKey.secret(fromFileContents: copy) != secret {
        Output.error(
            "the running heartbeatd holds a different secret (\(runningCredential), copied at its start): "
                + "it accepts this key only after `systemctl restart heartbeatd`, or with this secret as its previous_secret"
        )
    }
}
