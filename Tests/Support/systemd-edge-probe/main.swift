import Glibc
// A process of its own for the SystemdEdge tests: they run it inside a journald sandbox (Tests/Support/
// journald-sandbox.sh) and under systemd-socket-activate, and read back what it did.
//   systemd-edge-probe journal <client id>   logs the three entries JournalLogHandlerTests expects
//   systemd-edge-probe listen-fds            prints the activated descriptors and what LISTEN_FDS is left
import Logging
import Posix
import SystemdEdge

let arguments = Array(CommandLine.arguments.dropFirst())

switch arguments.first {
case "journal" where arguments.count == 2:
    let client = Logger.MetadataValue.string(arguments[1])
    var logger = Logger(label: "heartbeatd") { JournalLogHandler(label: $0) }
    logger.logLevel = .trace
    logger.info("client online", metadata: ["client.id": client, "peer": "127.0.0.1:5000", "event": "online"])
    logger.warning(
        "client offline",
        metadata: [
            "client.id": client, "reason": "timeout", "session.duration_ms": "30012", "worker": "1",
            "event": "offline",
        ])
    logger.critical("two\nlines", metadata: ["client.id": client, "9lives": "first\nsecond", "seq": "7"])

case "listen-fds" where arguments.count == 1:
    do {
        let descriptors = try SocketActivation.listeningDescriptors()
        print("descriptors", descriptors.map(String.init).joined(separator: " "))
        print("LISTEN_FDS", environment("LISTEN_FDS") ?? "unset")
    } catch {
        print("error", error)
        exit(1)
    }

default:
    print("usage: systemd-edge-probe journal <client id> | listen-fds")
    exit(2)
}
