// The heartbeatd command: parse flags, load and check the configuration, then hand over to the Supervisor.
import ArgumentParser
import Cluster
import HeartbeatConfig
import Logging
import SystemdEdge
import TLS

@main
struct Heartbeatd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeatd",
        abstract: "Hold long-lived TCP heartbeat connections and reap the dead ones.",
        discussion: """
            With no --config, heartbeatd runs on its built-in defaults (listen 0.0.0.0:7700). \
            Under systemd it is a Type=notify service: SIGHUP reloads the configuration file, \
            SIGTERM drains clients and exits.
            """,
        version: heartbeatdVersion
    )

    @Option(name: .long, help: ArgumentHelp("TOML configuration file.", valueName: "file"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Listen on host:port instead of the configured addresses (repeatable; IPv6 as [::]:7700).",
            valueName: "address"))
    var listen: [String] = []

    @Flag(
        name: .long,
        help: "Validate the configuration, print the effective configuration and exit (status 0 if valid, 1 if not).")
    var checkConfig = false

    mutating func run() throws {
        var timeline = StartTimeline()
        let loaded: Config
        // Kept for reloads: it remembers the text it parsed.
        var source = ConfigSource(path: config, listenOverrides: listen)
        do {
            loaded = try source.load()
        } catch {
            printError("heartbeatd: \(error)")
            throw ExitCode(1)
        }
        let auth: AuthMaterial
        let tls: TLSContext?
        do {
            auth = try SecretFile.material(for: loaded.auth)
            tls = try TLSFiles.load(loaded.tls)
        } catch {
            printError("heartbeatd: \(error)")
            throw ExitCode(1)
        }
        let cluster: ClusterSettings?
        do {
            cluster = try ClusterSetup.settings(loaded.cluster)
        } catch {
            printError("heartbeatd: \(error)")
            throw ExitCode(1)
        }
        if checkConfig {
            print(loaded.rendered(), terminator: "")
            printError("heartbeatd: configuration ok")
            return
        }
        timeline.configured = StartTimeline.now()
        let toJournal = JournalStream.isStandardErrorJournal()
        LoggingSystem.bootstrap { label -> any LogHandler in
            toJournal ? JournalLogHandler(label: label) : StderrLogHandler(label: label)
        }
        let status = Supervisor(
            config: loaded, source: source, auth: auth, tls: tls, cluster: cluster, timeline: timeline
        ).run()
        if status != 0 { throw ExitCode(status) }
    }
}

let heartbeatdVersion = "0.1.0"
