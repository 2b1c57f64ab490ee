// heartbeat-agent: the ready-made client a device runs. It keeps one heartbeat session with
// heartbeatd alive, logs every state change, and on SIGTERM or SIGINT says BYE and exits 0: the client
// runs as a Service in a ServiceGroup whose graceful-shutdown signals are those two.
import ArgumentParser
import FoundationEssentials
import HeartbeatClient
import Logging
import NIOSSL
import Primitives
import ServiceLifecycle

@main
struct HeartbeatAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat-agent",
        abstract: "Keep this device's heartbeat session with heartbeatd alive.",
        discussion: """
            Reconnects with jittered exponential backoff whenever the connection breaks. With --tls (implied \
            by --tls-ca or --tls-cert) it verifies the server against --tls-ca or the system's trust store. \
            Exit status: 0 after SIGTERM/SIGINT (BYE sent), 64 for a usage error, 3 when another client took \
            over the id (BYE replaced, with --on-replaced stop), 77 when the server refused the token or key \
            (ERR auth-failed, or a challenge without --key-file), 78 when it refused the HELLO (ERR bad-hello) \
            or the configuration is invalid (an unreadable, empty or malformed --token-file or --key-file \
            included). --token-file answers [auth] mode = "hmac" (the token crosses the wire); --key-file \
            answers mode = "challenge" (the same 64 hex digits, proved per connection, never sent).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The server, as host:port (IPv6 as [addr]:port).", valueName: "host:port"))
    var server: String

    @Option(name: .long, help: ArgumentHelp("This client's id: 1–64 of A–Z a–z 0–9 . _ : @ -", valueName: "id"))
    var id: String

    @Option(
        name: .long,
        help: ArgumentHelp("Heartbeat interval to propose (the server may clamp it).", valueName: "duration"))
    var interval = AgentDuration(.seconds(10))

    @Option(
        name: .long,
        help: ArgumentHelp("File holding the auth token (hex), e.g. from `heartbeatctl token <id>`.", valueName: "file")
    )
    var tokenFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File (mode 600) holding the device key, `heartbeatctl token <id>`, for challenge auth.", valueName: "file")
    )
    var keyFile: String?

    /// 10 minutes, not `stop`: with `[auth] mode = "hmac"` anyone who saw one HELLO can replay it, and
    /// `stop` would let one replay keep the device offline until a person steps in; waiting this long
    /// before taking the id back also keeps two agents misconfigured with one id from flapping.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "On BYE replaced: stop, or wait this long and take the id back.", valueName: "stop|duration"))
    var onReplaced = "10m"

    @Flag(name: .long, help: "Speak TLS to the server (a heartbeatd [tls] listener), verifying its certificate.")
    var tls = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "CA certificate(s), PEM, to verify the server with (default: the system's).", valueName: "file"))
    var tlsCa: String?

    @Option(
        name: .long, help: ArgumentHelp("This device's certificate chain, PEM (with --tls-key).", valueName: "file"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The private key of --tls-cert, PEM.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .long, help: ArgumentHelp("Backoff ceiling after repeated failures.", valueName: "duration"))
    var maxBackoff = AgentDuration(.seconds(60))

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Least severe level logged: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
        guard let endpoint = HeartbeatClient.Endpoint(parsing: server) else {
            throw ValidationError("--server must be host:port, e.g. monitor.example.net:7700 or [2001:db8::7]:7700")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var configuredLogger = Logger(label: "heartbeat-agent")
        configuredLogger.logLevel = level
        configuredLogger[metadataKey: "client.id"] = "\(id)"
        let logger = configuredLogger

        var configuration = HeartbeatClient.Configuration(server: endpoint, id: id, interval: interval.duration)
        // An unreadable token file is configuration, not usage: 78, which the unit does not restart.
        do {
            guard tokenFile == nil || keyFile == nil else {
                throw ValidationError("--token-file (hmac auth) and --key-file (challenge auth) exclude each other")
            }
            configuration.token = try tokenFile.map { try Self.readToken($0, flag: "--token-file") }
            configuration.deviceKey = try keyFile.map(Self.readKey)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }
        configuration.backoff = HeartbeatClient.Backoff(base: .seconds(1), cap: max(.seconds(1), maxBackoff.duration))
        configuration.onReplaced = try Self.replacedPolicy(onReplaced)
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        // Certificates and keys are configuration too (78); NIOSSL's lazy `.file` sources would trap on a bad one.
        do {
            configuration.tls = try tlsConfiguration()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }

        let client: HeartbeatClient
        do {
            client = try HeartbeatClient(configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(78)
        }

        // Subscribe before starting, so the log has every state from the first.
        let states = client.states()
        let watcher = Task {
            for await state in states { Self.log(state, to: logger) }
        }
        var groupLogger = logger
        groupLogger.logLevel = .notice
        let services = ServiceGroup(
            services: [client], gracefulShutdownSignals: [.sigterm, .sigint], logger: groupLogger)
        let outcome: Result<Void, any Error>
        do {
            try await services.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await watcher.value
        switch outcome {
        case .success:
            return
        case .failure(let error as HeartbeatClient.Error) where error.code == .replaced:
            throw ExitCode(3)
        case .failure(let error as HeartbeatClient.Error) where error.code == .auth:
            throw ExitCode(77)
        case .failure:
            throw ExitCode(78)
        }
    }

    /// One log line per state change; the level says how much a person should care.
    static func log(_ state: HeartbeatClient.State, to logger: Logger) {
        switch state {
        case .connecting(let attempt):
            logger.log(level: attempt == 0 ? .info : .debug, "\(state)", metadata: ["attempt": "\(attempt)"])
        case .connected(let grant):
            logger.notice(
                "\(state)",
                metadata: ["peer": "\(grant.address)", "interval_ms": "\(Int(grant.interval / .milliseconds(1)))"])
        case .disconnected:
            logger.warning("\(state)")
        case .waiting(_, let attempt):
            logger.info("\(state)", metadata: ["attempt": "\(attempt)"])
        case .stopped(.shutDown), .stopped(.cancelled):
            logger.notice("\(state)")
        case .stopped:
            logger.critical("\(state)")
        }
    }

    /// nil without --tls/--tls-ca/--tls-cert; files are read here, so a bad one is an error, not a trap.
    func tlsConfiguration() throws -> TLSConfiguration? {
        guard tls || tlsCa != nil || tlsCert != nil else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let tlsCa {
            configuration.trustRoots = .certificates(
                try Self.loading("--tls-ca", tlsCa) { try NIOSSLCertificate.fromPEMFile($0) })
        }
        if let tlsCert, let tlsKey {
            let chain = try Self.loading("--tls-cert", tlsCert) { try NIOSSLCertificate.fromPEMFile($0) }
            configuration.certificateChain = chain.map { .certificate($0) }
            let key = try Self.loading("--tls-key", tlsKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
            configuration.privateKey = .privateKey(key)
        }
        return configuration
    }

    private static func loading<T>(_ flag: String, _ path: String, _ load: (String) throws -> T) throws -> T {
        do {
            return try load(path)
        } catch {
            throw ValidationError("cannot use \(flag) \(path): \(error)")
        }
    }

    static func readToken(_ path: String, flag: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(flag) \(path): \(error)")
        }
        let token = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !token.isEmpty else { throw ValidationError("\(flag) \(path) is empty") }
        return token
    }

    /// The device key is the device's whole identity (it answers every challenge), so its file must be closed to
    /// group and others, as heartbeatd's secret file is.
    static func readKey(_ path: String) throws -> HeartbeatClient.DeviceKey {
        // FoundationEssentials boxes the mode as UInt on Linux (an NSNumber on Darwin bridges to it too).
        let raw = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions]
        if let mode = (raw as? UInt) ?? (raw as? Int).map(UInt.init) ?? (raw as? UInt16).map(UInt.init),
            mode & 0o077 != 0
        {
            throw ValidationError(
                "--key-file \(path) is open to group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
        let text = try readToken(path, flag: "--key-file")
        guard let key = HeartbeatClient.DeviceKey(text) else {
            throw ValidationError(
                "--key-file \(path) does not hold a device key (\(HeartbeatClient.DeviceKey.length) hex digits)")
        }
        return key
    }

    static func replacedPolicy(_ text: String) throws -> HeartbeatClient.ReplacedPolicy {
        if text == "stop" { return .stop }
        guard let duration = AgentDuration(argument: text) else {
            throw ValidationError("--on-replaced takes stop or a duration such as 10m")
        }
        return .backOff(duration.duration)
    }
}

/// A duration as heartbeatd's config writes it: `500ms`, `10s`, `5m`, `1h`.
struct AgentDuration: ExpressibleByArgument {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        guard let duration = parseDuration(argument) else { return nil }
        self.duration = duration
    }

    /// Written back as the flag takes it: "10s", "5m", "1500ms".
    var defaultValueDescription: String { durationText(duration) }
}
