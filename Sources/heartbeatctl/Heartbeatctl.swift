// heartbeatctl: the operator's command line for a running heartbeatd, over its control socket
// (docs/control.md). Human output by default, the daemon's JSON lines with --json; any failure is one
// line on stderr and exit status 1 (a usage error is the argument parser's 64, EX_USAGE).
import ArgumentParser
import ClusterSchema
import ControlProtocol
import Posix
import Primitives

@main
struct Heartbeatctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeatctl",
        abstract: "Ask a running heartbeatd who is connected, watch clients come and go, kick one, reload.",
        discussion:
            "Every command but `token` talks to the control socket; heartbeatd admits root, its own user and members of its [control] group.",
        subcommands: [
            Status.self, Clients.self, Client.self, Kick.self, Reload.self, Watch.self, Upgrade.self, Token.self,
        ]
    )

    // Given before the subcommand (`heartbeatctl --socket PATH status`, as `systemctl -H` takes its
    // host), these are parsed here and handed down: a subcommand's @OptionGroup of the same type
    // gets this value, and the options are still accepted after the subcommand's name.
    @OptionGroup var socket: SocketOption
    @OptionGroup var output: OutputOption
}

/// The control socket, for every command that talks to the daemon.
struct SocketOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The control socket.", valueName: "path"))
    var socket = "/run/heartbeatd/control.sock"
}

struct OutputOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON lines (the daemon's own) instead of text for people.")
    var json = false
}

/// What a command that talks to the daemon takes.
struct ControlOptions: ParsableArguments {
    @OptionGroup var place: SocketOption
    @OptionGroup var output: OutputOption

    var socket: String { place.socket }
    var json: Bool { output.json }
}

/// Runs `body`; a failure becomes one line on stderr and exit status 1.
func reporting(_ body: () throws(HeartbeatctlError) -> Void) throws {
    do {
        try body()
    } catch {
        Output.error(error.description)
        throw ExitCode(1)
    }
}

/// The request as the daemon would read it, checked here first so a typo is reported without a round trip.
func checked(_ request: ControlRequest) throws(HeartbeatctlError) -> ControlRequest {
    switch request {
    case .client(let id), .kick(let id, _):
        guard ClientID.isValid(id) else {
            throw .control(.badRequest("\(id.debugDescription) is not a client id (\(ClientID.rule))"))
        }
    default:
        break
    }
    do {
        return try ControlRequest(parsing: request.line.utf8.dropLast())
    } catch {
        throw .control(error)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Version, uptime, workers, clients, sessions, reaps by reason, config file.")

    @OptionGroup var options: ControlOptions

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            var client = try ControlClient(path: options.socket)
            let answer = try client.ask(.status)
            if options.json { return Output.line(bytes: answer.line) }
            let report = try AnswerDecoder.decode(StatusReport.self, from: answer.line)
            for line in Output.table(HumanText.status(report)) { Output.line(line) }
        }
    }
}

struct Clients: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connected clients, sorted by id: peer, connected since, last heard, interval, worker.",
        discussion: "With --json, one JSON object per client per line."
    )

    @OptionGroup var options: ControlOptions

    @Option(name: .long, help: ArgumentHelp("Only ids matching this shell pattern (* ? [a-z]).", valueName: "glob"))
    var match: String?

    @OptionGroup var cluster: ClusterOptions

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            let pattern: Glob?
            do throws(ControlError) { pattern = try match.map { text throws(ControlError) in try Glob(text) } } catch {
                throw .control(error)
            }
            if cluster.cluster {
                let redis = try cluster.connect()
                let records = try ClusterView.records(redis, keys: ClusterKeys(prefix: cluster.prefix))
                    .filter { pattern?.matches($0.0) ?? true }
                if options.json {
                    for (id, record) in records { Output.line(bytes: ClusterView.line(id, record)) }
                    return
                }
                guard !records.isEmpty else { return Output.line("no clients online in the cluster") }
                for line in Output.table(ClusterView.table(records)) { Output.line(line) }
                return
            }
            let request = try checked(.clients(match: pattern))
            var client = try ControlClient(path: options.socket)
            try client.send(request)
            var records: [(info: ClientInfo, line: [UInt8])] = []
            while true {
                let next = try client.nextObject()
                if next.head.ok == true { break }
                records.append((try AnswerDecoder.decode(ClientInfo.self, from: next.line), next.line))
            }
            records.sort { $0.info.id < $1.info.id }
            if options.json {
                for record in records { Output.line(bytes: record.line) }
                return
            }
            guard !records.isEmpty else {
                return Output.line(match.map { "no connected client matches \($0)" } ?? "no clients connected")
            }
            for line in Output.table(HumanText.clients(records.map(\.info))) { Output.line(line) }
        }
    }
}

struct Client: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One client in detail; exit status 1 if it is not connected.")

    @OptionGroup var options: ControlOptions

    @Argument(help: "The client id.")
    var id: String

    @OptionGroup var cluster: ClusterOptions

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            let request = try checked(.client(id: id))
            if cluster.cluster {
                let redis = try cluster.connect()
                guard let record = try ClusterView.record(redis, keys: ClusterKeys(prefix: cluster.prefix), id: id)
                else { throw .control(.notConnected(id: id)) }
                if options.json { return Output.line(bytes: ClusterView.line(id, record)) }
                return Output.line(
                    "\(id) on node \(record.node), peer \(record.peer), since \(TimeText.timestamp(milliseconds: record.sinceMS))"
                )
            }
            var client = try ControlClient(path: options.socket)
            let answer = try client.ask(request)
            if options.json { return Output.line(bytes: answer.line) }
            let info = try AnswerDecoder.decode(ClientInfo.self, from: answer.line)
            for line in Output.table(HumanText.client(info)) { Output.line(line) }
        }
    }
}

struct Kick: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End a client's session with reason `kicked` (it is told `BYE kicked`).")

    @OptionGroup var options: ControlOptions

    @Argument(help: "The client id.")
    var id: String

    @Option(name: .long, help: ArgumentHelp("Why, for the log and the offline event.", valueName: "text"))
    var reason: String?

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            let request = try checked(.kick(id: id, note: reason))
            var client = try ControlClient(path: options.socket)
            let answer = try client.ask(request)
            if options.json { return Output.line(bytes: answer.line) }
            let info = try AnswerDecoder.decode(ClientInfo.self, from: answer.line)
            Output.line("kicked \(info.id) (peer \(info.peer), worker \(info.worker))")
        }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the configuration, as SIGHUP does, and print the outcome.")

    @OptionGroup var options: ControlOptions

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            var client = try ControlClient(path: options.socket)
            let answer = try client.ask(.reload)
            if options.json { return Output.line(bytes: answer.line) }
            let report = try AnswerDecoder.decode(ReloadReport.self, from: answer.line)
            Output.line(report.message)
        }
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print presence events (online, offline, replaced) as they happen, until interrupted.",
        discussion: "With --json, one JSON object per event per line."
    )

    @OptionGroup var options: ControlOptions

    @OptionGroup var cluster: ClusterOptions

    @Option(
        name: .long, help: ArgumentHelp("With --cluster: read as this consumer group (resumable).", valueName: "name"))
    var group: String?

    @Option(name: .long, help: ArgumentHelp("With --group: this reader's name in the group.", valueName: "name"))
    var consumer = "heartbeatctl"

    @Flag(
        name: .long,
        help: "When the daemon goes away (a restart, an upgrade), connect again for up to 60 s and go on watching.")
    var reconnect = false

    func run() throws {
        try reporting { () throws(HeartbeatctlError) in
            if cluster.cluster {
                return try ClusterWatch.run(cluster, group: group, consumer: consumer, json: options.json)
            }
            var client = try ControlClient(path: options.socket)
            _ = try client.ask(.watch)
            while true {
                let next: (head: AnswerHead, line: [UInt8])
                do throws(HeartbeatctlError) {
                    next = try client.nextObject()
                } catch .connectionLost(let error) where reconnect {
                    Output.error(
                        "the daemon closed the watch (\(error.map { "\($0)" } ?? "end of stream")); reconnecting")
                    var acknowledged: [UInt8] = []
                    client = try Reconnecting.ask(.watch, path: options.socket, seconds: 60, answer: &acknowledged)
                    continue
                } catch {
                    throw error
                }
                if options.json {
                    Output.line(bytes: next.line)
                    continue
                }
                Output.line(HumanText.event(try AnswerDecoder.decode(PresenceEvent.self, from: next.line)))
            }
        }
    }
}
