// The graceful-shutdown request as the run loop sees it: set once (by swift-service-lifecycle or by
// `shutDownGracefully()`), and turned into an event in whatever the client is doing at that moment.
import Synchronization

/// A one-way latch with handlers: the current phase (connecting, a session, a backoff sleep) registers one
/// that feeds its own event stream, and removes it when the phase ends.
final class ShutdownSignal: Sendable {
    private struct Latch {
        var isTriggered = false
        var nextKey = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
    }

    private let latch = Mutex(Latch())

    var isTriggered: Bool { latch.withLock { $0.isTriggered } }

    /// Sets the latch and runs every handler once (outside the lock: a handler may yield into a stream).
    func trigger() {
        let handlers = latch.withLock { latch in
            guard !latch.isTriggered else { return [@Sendable () -> Void]() }
            latch.isTriggered = true
            defer { latch.handlers = [:] }
            return Array(latch.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Runs `handler` when the latch is set — at once if it already is. The key is for `remove`.
    func whenTriggered(_ handler: @escaping @Sendable () -> Void) -> Int {
        let key: Int? = latch.withLock { latch in
            guard !latch.isTriggered else { return nil }
            defer { latch.nextKey += 1 }
            latch.handlers[latch.nextKey] = handler
            return latch.nextKey
        }
        guard let key else {
            handler()
            return -1
        }
        return key
    }

    func remove(_ key: Int) {
        _ = latch.withLock { $0.handlers.removeValue(forKey: key) }
    }
}
