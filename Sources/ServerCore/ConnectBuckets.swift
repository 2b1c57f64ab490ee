// The connect-rate limit ([limits] connect_rate, connect_burst): one token bucket per source network
// (`HostAddress.network`: an IPv4 /24, an IPv6 /64), asked right after accept4, before a connection
// costs a session. Pure: it takes `now` and the limits as arguments.
//
// A bucket holds up to `burst` tokens and refills at `rate` per second; each connection takes one, and
// a network whose bucket is empty is refused. The table is bounded by `capacity` networks, kept in two
// generations: a network asked about is in the current one (moved there from the previous one if need
// be); when the current one reaches capacity / 2 the previous one is forgotten and the current one takes
// its place. So what is forgotten is the networks not seen for a whole generation, and a forgotten one
// starts again with a full bucket: bounded memory, paid for by letting the longest-quiet networks in.
// A network whose bucket has refilled (the usual case for a forgotten one) loses nothing by it.
//
//   cost: two hash look-ups per connection; a rotation (dropping a table) once every capacity / 2 networks.
//   memory: at most `capacity` entries of 40 bytes (a 24-byte key and a 16-byte bucket), plus the hash
//   tables' slack: about 1.3 MiB at the 16,384 networks the server uses, and nothing while the limit is off.
//
// Example, rate 1/s, burst 2: 127.0.0.1 connects three times at t=0 → yes, yes, no; 127.0.0.9 (the same
// /24) at t=0.5 s → no (half a token); 127.0.1.1 at t=0 → yes (another /24); 127.0.0.1 at t=1 s → yes.
import Posix

struct ConnectBuckets {
    /// The most networks the server's table holds (see the cost above).
    static let serverCapacity = 16_384

    struct Bucket {
        var tokens: Double
        /// The instant `tokens` was last brought up to date, in monotonic nanoseconds.
        var updated: UInt64
    }

    let capacity: Int
    private var current: [HostAddress: Bucket] = [:]
    private var previous: [HostAddress: Bucket] = [:]

    /// `capacity`: at least 2 networks.
    init(capacity: Int) {
        precondition(capacity >= 2, "a connect-rate table needs room for two generations")
        self.capacity = capacity
    }

    /// Takes one token from `host`'s network at `now`; false when its bucket has less than one, and the
    /// connection is to be refused. `rate` per second and `burst` are at least 1.
    mutating func admit(_ host: HostAddress, now: UInt64, rate: Int, burst: Int) -> Bool {
        let network = host.network
        let full = Bucket(tokens: Double(burst), updated: now)
        var bucket = current[network] ?? previous.removeValue(forKey: network) ?? full
        // A clock that went back (only a test's can) refills nothing.
        let elapsed = now > bucket.updated ? now - bucket.updated : 0
        bucket.tokens = min(Double(burst), bucket.tokens + Double(elapsed) * Double(rate) / 1e9)
        bucket.updated = now
        let isAdmitted = bucket.tokens >= 1
        if isAdmitted { bucket.tokens -= 1 }
        if current[network] == nil && current.count >= capacity / 2 {
            previous = current
            current = [:]
        }
        current[network] = bucket
        return isAdmitted
    }

    /// Networks held now, in both generations: at most `capacity`.
    var count: Int { current.count + previous.count }
}
