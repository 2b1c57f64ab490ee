// The states() side of a client: every subscriber gets each state change in order, starting with the latest.
import Synchronization

/// Fans state changes out to every subscriber, in order, and remembers the latest.
final class StateBroadcast: Sendable {
    private struct Subscribers {
        var current: HeartbeatClient.State?
        var nextKey = 0
        var continuations: [Int: AsyncStream<HeartbeatClient.State>.Continuation] = [:]
        var isFinished = false
    }

    private let subscribers = Mutex(Subscribers())

    var current: HeartbeatClient.State? { subscribers.withLock { $0.current } }

    func subscribe() -> AsyncStream<HeartbeatClient.State> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: HeartbeatClient.State.self, bufferingPolicy: .bufferingNewest(256))
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

    /// Called by the run loop only, so states are published in the order they happen.
    func publish(_ state: HeartbeatClient.State) {
        let finished: [AsyncStream<HeartbeatClient.State>.Continuation] = subscribers.withLock { subscribers in
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
