// The connect-rate table as a table: per-network buckets (/24, /64), refill, and the bound on its size.
import Posix
import Testing

@testable import ServerCore

@Suite struct ConnectBucketsTests {
    private func host(_ text: String) -> HostAddress { SocketAddress(host: text, port: 1)!.host }
    private let second: UInt64 = 1_000_000_000

    /// `admit` outside `#expect`, whose expansion cannot call a mutating method.
    private func admits(
        _ buckets: inout ConnectBuckets, _ address: String, at now: UInt64 = 0, rate: Int = 1, burst: Int = 1
    ) -> Bool {
        buckets.admit(host(address), now: now, rate: rate, burst: burst)
    }

    /// The worked example in ConnectBuckets.swift's header.
    @Test func theHeadersExample() {
        var buckets = ConnectBuckets(capacity: 16)
        let start: UInt64 = 7_000_000_000
        let steps: [(String, UInt64, Bool)] = [
            ("127.0.0.1", 0, true), ("127.0.0.1", 0, true), ("127.0.0.1", 0, false),
            ("127.0.0.9", second / 2, false), ("127.0.1.1", second / 2, true), ("127.0.0.1", second, true),
            ("127.0.0.1", second, false),
        ]
        for (address, at, expected) in steps {
            let admitted = admits(&buckets, address, at: start + at, burst: 2)
            #expect(admitted == expected, "\(address) at \(at)")
        }
    }

    @Test(arguments: [
        ("10.1.2.3", "10.1.2.200", "10.1.3.3"),
        ("2001:db8:0:1::1", "2001:db8:0:1:ffff::9", "2001:db8:0:2::1"),
        ("::ffff:10.1.2.3", "10.1.2.77", "::ffff:10.1.3.3"),
    ])
    func oneBucketPerNetwork(first: String, sameNetwork: String, otherNetwork: String) {
        var buckets = ConnectBuckets(capacity: 16)
        let answers = [admits(&buckets, first), admits(&buckets, sameNetwork), admits(&buckets, otherNetwork)]
        #expect(answers == [true, false, true])
        #expect(buckets.count == 2)
    }

    @Test func networksAreNamedAsPrefixes() {
        #expect(host("192.0.2.77").networkDescription == "192.0.2.0/24")
        #expect(host("2001:db8:1:2:3:4:5:6").networkDescription == "2001:db8:1:2::/64")
        #expect(host("::ffff:192.0.2.77").networkDescription == "192.0.2.0/24")
    }

    /// A long run at the rate is admitted whole; one faster than it is paced down to the rate.
    @Test func refillsAtTheRate() {
        var buckets = ConnectBuckets(capacity: 16)
        var admitted = 0
        // 1,000 connects 1 ms apart at 100/s with a burst of 10: 10 tokens and 99.9 more over 999 ms.
        for step in 0..<1_000 where admits(&buckets, "198.51.100.7", at: UInt64(step) * 1_000_000, rate: 100, burst: 10)
        {
            admitted += 1
        }
        #expect((108...109).contains(admitted))
    }

    /// Full: the networks not seen for a generation are forgotten, so the table never holds more than its
    /// capacity; a network still being refused stays known as long as it keeps coming.
    @Test func theTableIsBounded() {
        var buckets = ConnectBuckets(capacity: 8)
        let first = admits(&buckets, "203.0.113.1")
        #expect(first)
        for index in 0..<1_000 {
            _ = admits(&buckets, "10.\(index / 256).\(index % 256).1")
            #expect(buckets.count <= 8)
            let busyAdmitted = admits(&buckets, "203.0.113.1")
            #expect(!busyAdmitted, "still empty after \(index) others")
        }
        // A network seen once, 1,000 networks ago, was forgotten and comes back with a full bucket.
        let forgotten = admits(&buckets, "10.0.0.1")
        #expect(forgotten)
    }
}
