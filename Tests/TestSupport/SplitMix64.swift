// Test support: SplitMix64 (Steele, Lea, Flood 2014), a tiny seeded generator, so a test that draws
// random operations or jitter does the same thing on every run and a failing seed reproduces.

public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform enough in 0..<bound for tests.
    public mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// A fraction in [0, 1) with 53 random bits.
    public mutating func nextFraction() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
