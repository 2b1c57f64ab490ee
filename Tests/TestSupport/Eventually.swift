// The deadline poll every test uses instead of sleeping: ask again every 10 ms until the condition
// holds or the time is up, then answer whether it held. The only copy in the test tree.
import Glibc

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
/// Async, so a test that waits does not hold one of the few threads that run tests; the condition
/// may itself await (a question to the daemon).
public func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// The same poll for synchronous code (helpers that cannot be async): it blocks the calling thread.
public func eventuallyBlocking(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1_000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
}
