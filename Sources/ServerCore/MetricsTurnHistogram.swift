// How long a worker's loop turns take (the work between two epoll_waits, not the wait): fixed buckets
// in relaxed atomics, written by the worker's own thread and read by the metrics endpoint's scrape.
//
// Why not a swift-prometheus Histogram on the worker: its `record` takes a lock and walks every bucket
// on each call, and it cannot be loaded with counts gathered elsewhere. Here a turn costs one clock
// read, a scan of 15 bounds and two uncontended atomic adds — no lock, no allocation — and the scrape
// sums the workers' buckets and writes the histogram itself (MetricsEndpoint).
import Synchronization

public final class TurnHistogram: Sendable {
    /// Upper bounds of the buckets in nanoseconds, 10 µs to 1 s; one more bucket takes the rest (+Inf).
    public static let bounds: [UInt64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 1_000_000_000,
    ]

    /// Turns per bucket (not cumulative); the last is over every bound.
    private let counts: InlineArray<16, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }
    private let sumNanoseconds = Atomic<UInt64>(0)

    init() {}

    /// Called once per turn on the worker's thread.
    func record(nanoseconds: UInt64) {
        var bucket = 0
        while bucket < Self.bounds.count, nanoseconds > Self.bounds[bucket] { bucket += 1 }
        counts[bucket].add(1, ordering: .relaxed)
        sumNanoseconds.add(nanoseconds, ordering: .relaxed)
    }

    /// Adds this worker's counts to `snapshot`. Relaxed loads: a turn recorded during the scrape may
    /// show in one field and not yet in another, which the next scrape makes good.
    func add(to snapshot: inout Snapshot) {
        if snapshot.turnCounts.isEmpty { snapshot.turnCounts = Array(repeating: 0, count: Self.bounds.count + 1) }
        for bucket in 0...Self.bounds.count {
            snapshot.turnCounts[bucket] += counts[bucket].load(ordering: .relaxed)
        }
        snapshot.turnNanoseconds += sumNanoseconds.load(ordering: .relaxed)
    }
}
