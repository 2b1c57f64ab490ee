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
            var line: [UInt8] = []
            _ = try Reconnecting.ask(.status, path: options.socket, seconds: 60, answer: &line)
            if options.json { return Output.line(bytes: line) }
            let after = try AnswerDecoder.decode(StatusReport.self, from: line)
            Output.line(
                "upgraded: heartbeatd \(before.version) → \(after.version), pid \(after.pid)\(after.pid == before.pid ? " (same process)" : ""), \(after.clients) clients connected (were \(before.clients))"
            )
        }
    }
}

/// Connecting again while a daemon restarts: its socket file is gone, refuses, or (made by the old
/// process, gone with it) resets a connection for a moment.
enum Reconnecting {
    /// A new connection that answered `request`, and that answer.
    static func ask(
        _ request: ControlRequest, path: String, seconds: Int, answer: inout [UInt8]
    ) throws(HeartbeatctlError) -> ControlClient {
        var attempts = seconds * 20
        while true {
            do {
                var client = try ControlClient(path: path)
                answer = try client.ask(request).line
                return client
            } catch {
                attempts -= 1
                guard attempts > 0, case .connectionLost = error else {
                    if attempts > 0, case .cannotConnect = error {
                        Program.pause(milliseconds: 50)
                        continue
                    }
                    throw error
                }
                Program.pause(milliseconds: 50)
            }
        }
    }
}
