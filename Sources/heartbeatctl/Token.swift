// `heartbeatctl token ID`: the token a client sends in HELLO when `[auth] mode = "hmac"` — lowercase
// hex HMAC-SHA256(secret, id), the secret being the file's bytes less one trailing newline. It reads
// the secret file and needs no daemon.
import ArgumentParser
import ControlProtocol
import Crypto
import Posix

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the HMAC token a client must send in HELLO when auth is on (no daemon needed).",
        discussion: "The secret file defaults to $CREDENTIALS_DIRECTORY/heartbeatd-secret when set, else /etc/heartbeatd/secret."
    )

    /// Keys shorter than this are refused, as the daemon refuses them.
    static let minimumSecretLength = 16

    @Argument(help: "The client id.")
    var id: String

    @Option(name: .long, help: ArgumentHelp("The file holding the secret.", valueName: "file"))
    var secretFile: String?

    @OptionGroup var output: OutputOption

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            guard ControlRequest.isValidClientID(id) else {
                throw .control(.badRequest("\(id.debugDescription) is not a client id (1-64 bytes of A-Z a-z 0-9 . _ : @ -)"))
            }
            let path = secretFile ?? environment("CREDENTIALS_DIRECTORY").map { "\($0)/heartbeatd-secret" } ?? "/etc/heartbeatd/secret"
            var secret: [UInt8]
            do throws(SystemError) {
                secret = try FileSystem.read(path, limit: 65_536)
            } catch {
                throw .secretFile(path: path, "cannot read: \(error.errno.meaning)")
            }
            if secret.last == 0x0A { secret.removeLast() }
            guard secret.count >= Self.minimumSecretLength else {
                throw .secretFile(path: path, "must hold at least \(Self.minimumSecretLength) bytes")
            }
            let token = Self.token(secret: secret, id: id)
            let json = JSONValue.object(JSONObject(["id": .string(id), "token": .string(token)]))
            Output.line(output.json ? json.text : token)
        }
    }

    static func token(secret: [UInt8], id: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: SymmetricKey(data: secret))
        let digits = Array("0123456789abcdef")
        return String(code.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
    }
}
