// The client's life as one async function: attempt, session, backoff, again — until a graceful shutdown, a
// cancellation or a failure that retrying cannot fix. Generic over the clock, so tests drive time by hand.
import Logging
import Synchronization

/// Everything one run needs; `run()` owns the changing state (the attempt count) in its locals.
struct Runner<C: Clock<Duration>>: Sendable {
    let configuration: HeartbeatClient.Configuration
    let helloLine: [UInt8]
    let transport: Transport
    let clock: C
    let randomFraction: @Sendable () -> Double
    let logger: Logger
    let publish: @Sendable (HeartbeatClient.State) -> Void
    let shutdown: ShutdownSignal

    /// How a session (or an attempt at one) ended.
    enum Ending {
        /// Reconnect after the backoff; `upFor` is how long the session was up, if it came up.
        case reconnect(HeartbeatClient.Error, upFor: Duration?)
        /// `BYE replaced`: the policy decides.
        case replaced(HeartbeatClient.Error)
        /// Stop for good, after saying why (a nil error: on request, nothing to say).
        case stop(HeartbeatClient.Stop, HeartbeatClient.Error?)
    }

    /// What ends the wait for a connection: the connect's outcome (nil: connected), or a shutdown.
    enum AttemptEvent: Sendable {
        case connected(HeartbeatClient.Error?)
        case shutdown
    }

    func run() async -> HeartbeatClient.Stop {
        var failures = 0
        while true {
            if let stop = requestedStop() { return finish(stop) }
            publish(.connecting(attempt: failures))
            let delay: Duration
            switch await attempt() {
            case .stop(let stop, let error):
                if let error { publish(.disconnected(error)) }
                return finish(stop)
            case .replaced(let error):
                publish(.disconnected(error))
                guard let patience = configuration.onReplaced.delay else { return finish(.failed(error)) }
                delay = patience
            case .reconnect(let error, let upFor):
                logger.debug("disconnected", metadata: ["reason": "\(error)"])
                publish(.disconnected(error))
                if let upFor, upFor >= configuration.resetBackoffAfter { failures = 0 }
                delay = configuration.backoff.delay(attempt: failures, fraction: randomFraction())
                failures += 1
            }
            publish(.waiting(delay: delay, attempt: failures))
            if let stop = await wait(delay) { return finish(stop) }
        }
    }

    private func requestedStop() -> HeartbeatClient.Stop? {
        if Task.isCancelled { return .cancelled }
        return shutdown.isTriggered ? .shutDown : nil
    }

    private func finish(_ stop: HeartbeatClient.Stop) -> HeartbeatClient.Stop {
        publish(.stopped(stop))
        return stop
    }

    /// One attempt: connect (racing cancellation and shutdown; a channel that comes too late is closed),
    /// then the session.
    private func attempt() async -> Ending {
        let (events, sink) = AsyncStream.makeStream(of: AttemptEvent.self)
        let handoff = Handoff()
        transport.connect { result in
            switch result {
            case .success(let connection):
                guard handoff.offer(connection) else { return connection.close() }
                sink.yield(.connected(nil))
            case .failure(let error):
                sink.yield(.connected(error))
            }
        }
        let key = shutdown.whenTriggered { sink.yield(.shutdown) }
        defer { shutdown.remove(key) }
        var iterator = events.makeAsyncIterator()
        let event = await iterator.next()
        if case .connected(let error?) = event { return .reconnect(error, upFor: nil) }
        guard case .connected(nil) = event, let connection = handoff.take(), requestedStop() == nil else {
            handoff.abandon()
            return .stop(requestedStop() ?? .cancelled, nil)
        }
        return await session(connection)
    }

    /// The backoff sleep, on the clock; nil when it ran out, the stop when shutdown or cancellation ended it.
    private func wait(_ delay: Duration) async -> HeartbeatClient.Stop? {
        let (events, sink) = AsyncStream.makeStream(of: HeartbeatClient.Stop?.self)
        let key = shutdown.whenTriggered { sink.yield(.shutDown) }
        defer { shutdown.remove(key) }
        let deadline = clock.now.advanced(by: delay)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { [clock] in
                do {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    sink.yield(nil)
                } catch {
                    sink.yield(.cancelled)
                }
            }
            defer { group.cancelAll() }
            for await stop in events { return stop }
            return .cancelled
        }
    }
}

/// Passes the connection from the connect callback (an event loop) to the run loop, unless the run loop has
/// left already: then the callback closes it instead of leaking an open session on the server.
final class Handoff: Sendable {
    private let slot = Mutex<(connection: Connection?, isAbandoned: Bool)>((nil, false))

    /// False when the run loop has left: the caller closes the connection.
    func offer(_ connection: Connection) -> Bool {
        slot.withLock { slot in
            guard !slot.isAbandoned else { return false }
            slot.connection = connection
            return true
        }
    }

    func take() -> Connection? {
        slot.withLock { slot in
            defer { slot.connection = nil }
            return slot.connection
        }
    }

    func abandon() {
        let late = slot.withLock { slot in
            slot.isAbandoned = true
            defer { slot.connection = nil }
            return slot.connection
        }
        late?.close()
    }
}
