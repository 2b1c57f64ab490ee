// The library's front door: a client that keeps one heartbeat session alive against heartbeatd, run as a
// swift-service-lifecycle Service (or with `await client.run()`) and observed through `client.states()`.
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WireProtocol

#if canImport(Network)
    import NIOTransportServices
#endif

/// Keeps one connection to heartbeatd alive for one client id.
///
/// It connects (Happy Eyeballs over every address of the name, optionally over TLS), says `HELLO`, beats at
/// the interval the server grants, and treats the server as dead when no line arrives within the granted
/// timeout. Whenever the connection ends it reconnects after a full-jitter exponential backoff (`Backoff`).
/// It stops on a graceful shutdown (saying `BYE` first), on cancellation (closing at once), and for good on
/// `ERR auth-failed`, `ERR bad-hello`, or `BYE replaced` when `Configuration.onReplaced` is `.stop`.
///
/// As a `Service`, run it in a `ServiceGroup`: SIGTERM then means BYE and a clean exit. `docs/client.md` has a
/// whole program.
public final class HeartbeatClient: Service, Sendable {
    public let configuration: Configuration
    private let broadcast = StateBroadcast()
    private let shutdown = ShutdownSignal()
    private let hasRun = Mutex(false)
    private let body: @Sendable () async -> Stop

    /// Checks the configuration (the HELLO it implies must be valid protocol; TLS files must load) without
    /// connecting, on the system clock.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: the group to connect on; nil uses the shared singleton (NIOPosix's, or on Apple
    ///     platforms NIOTransportServices', i.e. Network.framework). A service passes the group it already runs.
    ///   - logger: receives debug lines; state changes are reported through `states()`.
    ///   - randomFraction: the backoff's random source, a value in `[0, 1]` per call. Tests inject a fixed one.
    public convenience init(
        _ configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "heartbeat-client"),
        randomFraction: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) throws(Error) {
        try self.init(
            configuration, eventLoopGroup: eventLoopGroup, clock: ContinuousClock(), logger: logger,
            randomFraction: randomFraction)
    }

    /// The same on any clock: every timer of the client (HELLO timeout, beats, silence, backoff, BYE wait) is a
    /// sleep on `clock`, so a test can move time by hand. NIO's own connect timeout stays on the system clock.
    public init<C: Clock<Duration>>(
        _ configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        clock: C,
        logger: Logger = Logger(label: "heartbeat-client"),
        randomFraction: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) throws(Error) {
        let hello = try Self.helloLine(for: configuration)
        guard configuration.token == nil || configuration.deviceKey == nil else {
            throw Error(.invalidConfiguration, "set token (hmac auth) or deviceKey (challenge auth), not both")
        }
        guard configuration.backoff.base > .zero, configuration.backoff.cap >= configuration.backoff.base else {
            throw Error(.invalidConfiguration, "backoff needs 0 < base <= cap")
        }
        guard configuration.connectTimeout > .zero, configuration.byeTimeout >= .zero else {
            throw Error(.invalidConfiguration, "the connect timeout must be positive")
        }
        guard !configuration.server.host.isEmpty, configuration.server.port > 0 else {
            throw Error(.invalidConfiguration, "the server needs a host and a port")
        }
        self.configuration = configuration
        let runner = Runner(
            configuration: configuration, helloLine: hello,
            transport: try Transport(configuration, group: eventLoopGroup ?? Self.defaultGroup), clock: clock,
            randomFraction: randomFraction, logger: logger, publish: { [broadcast] in broadcast.publish($0) },
            shutdown: shutdown)
        body = { await runner.run() }
    }

    /// The latest state, or nil before `run()` has begun.
    public var state: State? { broadcast.current }

    /// A new stream of state changes, starting with the current state (if the client has started). Each call
    /// makes an independent subscriber. The stream ends after `.stopped`. A subscriber that falls more than 256
    /// states behind loses the oldest ones.
    public func states() -> AsyncStream<State> {
        broadcast.subscribe()
    }

    /// Runs the client until it stops.
    ///
    /// - A graceful shutdown (the `ServiceGroup`'s, on SIGTERM say, or `shutDownGracefully()`) says `BYE` on an
    ///   open session, waits up to `byeTimeout` for `BYE bye`, and returns.
    /// - Cancelling the calling task closes the connection at once and returns.
    /// - Throws: `Error` for a stop that reconnecting cannot fix (codes `.auth`, `.rejected`, `.replaced`), and
    ///   `.alreadyRunning` when called a second time — which leaves the first run alone.
    public func run() async throws(Error) {
        let isFirst = hasRun.withLock { hasRun in
            defer { hasRun = true }
            return !hasRun
        }
        guard isFirst else { throw Error(.alreadyRunning, "run() was already called on this client") }
        let stop = await withGracefulShutdownHandler {
            await body()
        } onGracefulShutdown: { [shutdown] in
            shutdown.trigger()
        }
        if case .failed(let error) = stop { throw error }
    }

    /// A graceful shutdown without a ServiceGroup: `BYE`, a short wait for the answer, then `run()` returns.
    public func shutDownGracefully() {
        shutdown.trigger()
    }

    /// NIOPosix's shared group on Linux; Network.framework's on Apple platforms.
    static var defaultGroup: any EventLoopGroup {
        #if canImport(Network)
            NIOTSEventLoopGroup.singleton
        #else
            MultiThreadedEventLoopGroup.singleton
        #endif
    }

    /// The HELLO line this configuration sends, checked by the protocol's own parser.
    static func helloLine(for configuration: Configuration) throws(Error) -> [UInt8] {
        var intervalMS: UInt64?
        if let interval = configuration.interval {
            guard interval >= .zero else { throw Error(.invalidConfiguration, "interval must not be negative") }
            intervalMS = UInt64(interval.milliseconds)
        }
        let hello = Hello(id: configuration.id, intervalMS: intervalMS, token: configuration.token)
        var line: [UInt8] = []
        do throws(ProtocolError) {
            try RequestLine.appendHello(hello, to: &line)
        } catch {
            throw Error(.invalidConfiguration, error.detail, underlying: error)
        }
        return line
    }
}
