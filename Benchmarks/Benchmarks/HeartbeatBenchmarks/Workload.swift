// The timer workload both structures run: what a heartbeat server does with its session deadlines.

/// N deadlines spread uniformly over 30 s (as N sessions with a 30 s timeout, at random phases),
/// half of them cancelled (sessions that ended first), then time advanced in 100 ms ticks to the end.
struct TimerWorkload {
    static let tick: UInt64 = 100_000_000
    static let span: UInt64 = 30_000_000_000

    let deadlines: [UInt64]

    init(count: Int) {
        var generator = SplitMix(seed: UInt64(count))
        deadlines = (0..<count).map { _ in Self.tick + generator.next() % Self.span }
    }
}

/// SplitMix64: the same deadlines every run, without Foundation.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
