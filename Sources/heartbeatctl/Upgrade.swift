// `heartbeatctl upgrade`: the daemon replaces itself with the binary now on disk (same PID, every
// session kept), then this waits for the new one to answer and says what it found.
import ArgumentParser
import ControlProtocol
import Posix

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the running daemon by its binary on disk, in place, keeping every client connected.",
        discussion:
            "The new binary must pass --check-config first; if it does not, or the exec fails, the running daemon serves on and this says why (exit 1)."
    )

    @OptionGroup var options: ControlOptions

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            var client = try ControlClient(path: options.socket)
            let before = try AnswerDecoder.decode(StatusReport.self, from: try client.ask(.status).line)
            do throws(HeartbeatctlError) {
                // An answer means it failed (the error is thrown); the daemon closing means it exec'd.
                _ = try client.ask(.upgrade)
            } catch .connectionLost {
            } catch {
                throw error
            }
            var fresh = try Reconnecting.connect(path: options.socket, seconds: 60)
            let answer = try fresh.ask(.status)
            if options.json { return Output.line(bytes: answer.line) }
            let after = try AnswerDecoder.decode(StatusReport.self, from: answer.line)
            Output.line(
                "upgraded: heartbeatd \(before.version) → \(after.version), pid \(after.pid)\(after.pid == before.pid ? " (same process)" : ""), \(after.clients) clients connected (were \(before.clients))"
            )
        }
    }
}

/// Connecting again while a daemon restarts: its socket file is gone or refuses for a moment.
enum Reconnecting {
    static func connect(path: String, seconds: Int) throws(HeartbeatctlError) -> ControlClient {
        var attempts = seconds * 20
        while true {
            do {
                return try ControlClient(path: path)
            } catch {
                attempts -= 1
                if attempts <= 0 { throw error }
                Program.pause(milliseconds: 50)
            }
        }
    }
}
