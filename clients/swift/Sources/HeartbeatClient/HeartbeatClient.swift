// The library's front door: a client that keeps one heartbeat session alive against heartbeatd,
// run with `await client.run()` and observed through `client.states()`.
import Logging
import Synchronization
import WireProtocol

/// Keeps one connection to heartbeatd alive for one client id.
///
/// It connects (IPv4, IPv6 or a host name), says `HELLO`, beats at the interval the server grants,
/// and treats the server as dead when no line arrives within the granted timeout. Whenever the
/// connection ends it reconnects after a full-jitter exponential backoff (see `Backoff`). It stops
/// for good only when cancelled, on `ERR auth-failed`, on `ERR bad-hello`, or on `BYE replaced` when
/// `Configuration.onReplaced` is `.stop`.
///
/// ```swift
/// import HeartbeatClient
///
/// var configuration = Configuration(server: Endpoint(host: "monitor.example.net", port: 7700), id: "sensor-12")
/// configuration.interval = .seconds(10)
/// let client = try HeartbeatClient(configuration)
///
/// let watcher = Task {
///     for await state in client.states() { print(state) }
/// }
/// let heartbeat = Task { try await client.run() }
/// // … later, on shutdown: the client says BYE before run() returns.
/// heartbeat.cancel()
/// try await heartbeat.value
/// await watcher.value   // the stream ends after `.stopped`
/// ```
public final class HeartbeatClient: Sendable {
    public let configuration: Configuration
    private let engine: Engine
    private let broadcast: StateBroadcast

    /// Checks the configuration (the HELLO it implies must be valid protocol) without connecting.
    ///
    /// - Parameters:
    ///   - logger: receives debug lines; state changes are reported through `states()`.
    ///   - randomFraction: the backoff's random source, a value in `[0, 1]` per call. Tests inject a
    ///     fixed one; the default is the system generator.
    public init(
        _ configuration: Configuration,
        logger: Logger = Logger(label: "heartbeat-client"),
        randomFraction: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) throws(HeartbeatClientError) {
        let hello = try Self.helloLine(for: configuration)
        guard configuration.backoff.base > .zero, configuration.backoff.cap >= configuration.backoff.base else {
            throw .invalidConfiguration("backoff needs 0 < base <= cap")
        }
        guard configuration.connectTimeout > .zero, configuration.byeTimeout >= .zero else {
            throw .invalidConfiguration("connect timeout must be positive")
        }
        guard !configuration.server.host.isEmpty, configuration.server.port > 0 else {
            throw .invalidConfiguration("server needs a host and a port")
        }
        self.configuration = configuration
        let broadcast = StateBroadcast()
        self.broadcast = broadcast
        engine = Engine(configuration: configuration, helloLine: hello, logger: logger, randomFraction: randomFraction)
        { state in
            broadcast.publish(state)
        }
    }

    /// The latest state, or nil before `run()` has begun.
    public var state: State? { broadcast.current }

    /// A new stream of state changes, starting with the current state (if the client has started).
    /// Each call makes an independent subscriber. The stream ends after `.stopped`. A subscriber that
    /// falls more than 256 states behind loses the oldest ones.
    public func states() -> AsyncStream<State> {
        broadcast.subscribe()
    }

    /// Runs the client until it stops. Cancelling the calling task ends it cleanly: a connected
    /// client sends `BYE` and waits up to `byeTimeout` for the server's answer; then `run()` returns.
    ///
    /// - Throws: `HeartbeatClientError` for a stop that reconnecting cannot fix. A client runs once.
    public func run() async throws(HeartbeatClientError) {
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<Void, HeartbeatClientError>, Never>) in
                engine.start { result in continuation.resume(returning: result) }
            }
        } onCancel: {
            engine.stop()
        }
        try result.get()
    }

    /// The HELLO line this configuration sends, checked by the protocol's own parser.
    static func helloLine(for configuration: Configuration) throws(HeartbeatClientError) -> [UInt8] {
        var intervalMS: UInt64?
        if let interval = configuration.interval {
            guard interval >= .zero else { throw .invalidConfiguration("interval must not be negative") }
            intervalMS = UInt64(interval.milliseconds)
        }
        let hello = Hello(id: configuration.id, intervalMS: intervalMS, token: configuration.token)
        var line: [UInt8] = []
        do throws(ProtocolError) {
            try RequestLine.appendHello(hello, to: &line)
        } catch {
            throw .invalidConfiguration(error.detail)
        }
        return line
    }
}

/// Fans state changes out to every subscriber, in order, and remembers the latest.
final class StateBroadcast: Sendable {
    private struct Subscribers {
        var current: State?
        var nextKey = 0
        var continuations: [Int: AsyncStream<State>.Continuation] = [:]
        var isFinished = false
    }

    private let subscribers = Mutex(Subscribers())

    var current: State? { subscribers.withLock { $0.current } }

    func subscribe() -> AsyncStream<State> {
        let (stream, continuation) = AsyncStream.makeStream(of: State.self, bufferingPolicy: .bufferingNewest(256))
        let isFinished = subscribers.withLock { subscribers in
            // Yielding under the lock keeps the first state ahead of any concurrent publish.
            if let current = subscribers.current { continuation.yield(current) }
            if subscribers.isFinished { return true }
            let key = subscribers.nextKey
            subscribers.nextKey += 1
            subscribers.continuations[key] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.subscribers.withLock { _ = $0.continuations.removeValue(forKey: key) }
            }
            return false
        }
        // finish() runs onTermination, which takes the lock: never call it while holding the lock.
        if isFinished { continuation.finish() }
        return stream
    }

    /// Called on the engine's queue only, so states are published in the order they happen.
    func publish(_ state: State) {
        let finished: [AsyncStream<State>.Continuation] = subscribers.withLock { subscribers in
            subscribers.current = state
            for continuation in subscribers.continuations.values { continuation.yield(state) }
            guard case .stopped = state else { return [] }
            subscribers.isFinished = true
            defer { subscribers.continuations = [:] }
            return Array(subscribers.continuations.values)
        }
        for continuation in finished { continuation.finish() }
    }
}
