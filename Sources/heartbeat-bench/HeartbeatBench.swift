// heartbeat-bench: a load generator for heartbeatd's protocol. One process, one epoll loop, many
// connections; every mode is bounded in client count and in time, and ends with one summary.
import ArgumentParser
import DeviceKeys
import Posix
import Primitives

@main
struct HeartbeatBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat-bench",
        abstract: "Load generator for heartbeatd: hold, flood, churn, reap and storm.",
        discussion: """
            Every mode connects to --server (loopback only is intended), spreads its source addresses \
            over 127.0.0.x, raises its own descriptor limit, and stops by itself. Durations are written \
            as in the config: 500ms, 10s, 5m.
            """,
        subcommands: [Hold.self, Flood.self, Churn.self, Reap.self, Storm.self]
    )
}

/// What every mode takes.
struct CommonOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The daemon's address, numeric (IPv6 in brackets); several separated by commas spread the clients over them.",
            valueName: "host:port"))
    var server = "127.0.0.1:7700"

    @Flag(name: .long, help: "Print one JSON summary object on stdout instead of text.")
    var json = false

    @OptionGroup(title: "TLS") var tls: TLSOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Source addresses 127.0.0.1…127.0.0.N to spread connections over (loopback servers only; 0: let the kernel choose).",
            valueName: "N"))
    var sources = 8

    @Option(name: .long, help: ArgumentHelp("Client ids are <prefix>-<number>.", valueName: "prefix"))
    var idPrefix = "bench-\(processID())"

    @Option(
        name: .long,
        help: ArgumentHelp("Connections between connect and OK at once, while ramping up.", valueName: "count"))
    var maxInFlight = 256

    @Option(name: .long, help: ArgumentHelp("Give up on clients not connected after this long.", valueName: "duration"))
    var rampTimeout = BenchDuration(seconds: 60)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The server's auth secret: clients derive their device keys from it (token= in HELLO, or AUTH with --challenge).",
            valueName: "file"))
    var secretFile: String?

    @Flag(
        name: .long, help: "Answer the server's CHALLENGE with AUTH (auth.mode = \"challenge\"); needs --secret-file.")
    var challenge = false

    /// How the fleet's clients prove their ids: from --secret-file and --challenge.
    func fleetAuth() throws -> FleetAuth {
        guard let path = secretFile else {
            if challenge { throw ValidationError("--challenge needs --secret-file") }
            return .off
        }
        let contents: [UInt8]
        do {
            contents = try FileSystem.read(path, limit: 65_536)
        } catch {
            throw ValidationError("--secret-file \(path): cannot read: \(error.errno.meaning)")
        }
        let secret = DeviceKey.secret(fromFileContents: contents)
        return challenge ? .challenge(secret: secret) : .token(secret: secret)
    }

    /// The first --server address (Servers.swift reads them all).
    func serverAddress() throws -> SocketAddress {
        try serverAddresses()[0]
    }

    func sourceAddresses(for server: SocketAddress) -> [SocketAddress] {
        guard server.isIPv4Loopback, sources > 0 else { return [] }
        return (1...min(sources, 254)).compactMap { SocketAddress(host: "127.0.0.\($0)", port: 0) }
    }

    /// Raises RLIMIT_NOFILE and checks that `clients` sockets fit, with room for the loop's own descriptors.
    func checkDescriptors(for clients: Int) throws {
        let limit = try DescriptorLimit.raiseToHardLimit()
        guard UInt64(clients) + 32 <= limit else {
            throw ValidationError("\(clients) clients need \(clients + 32) descriptors; this process may have \(limit)")
        }
    }
}

/// A duration argument as the config writes it: `250ms`, `10s`, `5m`, `1h`.
struct BenchDuration: ExpressibleByArgument, CustomStringConvertible {
    var nanoseconds: UInt64

    init(seconds: UInt64) { nanoseconds = seconds * 1_000_000_000 }

    init?(argument: String) {
        guard let duration = parseDuration(argument) else { return nil }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        nanoseconds = whole + UInt64(attoseconds / 1_000_000_000)
    }

    var milliseconds: UInt64 { nanoseconds / 1_000_000 }
    var seconds: Double { Double(nanoseconds) / 1e9 }
    var description: String { durationText(.nanoseconds(Int64(clamping: nanoseconds))) }
}

/// `127.0.0.1:7700` or `[::1]:7700`: Primitives reads the shape, inet_pton (Posix) the address.
func parseAddress(_ text: String) -> SocketAddress? {
    guard let parsed = try? HostPort(parsing: text) else { return nil }
    return SocketAddress(host: parsed.host, port: parsed.port)
}
