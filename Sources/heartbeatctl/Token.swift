// `heartbeatctl token ID`: the token a client sends in HELLO when `[auth] mode = "hmac"` — lowercase
// hex HMAC-SHA256(secret, id), the secret being the file's bytes less one trailing newline. It reads
// the secret file and needs no daemon.
import ArgumentParser
import ControlProtocol
import DeviceKeys
import Posix
import Primitives

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the HMAC token a client must send in HELLO when auth is on (no daemon needed).",
        discussion:
            "The secret file defaults to $CREDENTIALS_DIRECTORY/heartbeatd-secret when set, else /etc/heartbeatd/secret."
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
            let json = JSONValue.object(JSONObject(["id": .string(id), "token": .string(token)]))
            Output.line(output.json ? json.text : token)
        }
    }
}
