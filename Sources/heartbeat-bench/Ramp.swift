// Opening many connections without a SYN flood: at most `maxInFlight` clients between connect and
// OK at a time, the next one started as each settles.

/// Opens clients `0..<total` of a fleet and tracks when every one has settled (got OK or failed).
final class Ramp {
    let total: Int
    let maxInFlight: Int
    private unowned let fleet: Fleet
    private(set) var started = 0
    private(set) var settled = 0
    private(set) var identified = 0
    private var isFilling = false
    /// Called once, when the last client has settled.
    var onComplete: () -> Void = {}

    init(fleet: Fleet, total: Int, maxInFlight: Int) {
        self.fleet = fleet
        self.total = total
        self.maxInFlight = max(1, maxInFlight)
    }

    var isComplete: Bool { settled == total }

    /// Starts clients until `maxInFlight` are pending. A connect that fails at once settles inside
    /// `fleet.connect`, which calls back here: the flag keeps that from recursing once per client.
    func fill() {
        guard !isFilling else { return }
        isFilling = true
        defer { isFilling = false }
        while started < total && started - settled < maxInFlight {
            let client = started
            started += 1
            fleet.connect(client, idNumber: client)
        }
        if total == 0 { onComplete() }
    }

    /// A started client got OK (`identified`) or failed.
    func settle(identified wasIdentified: Bool) {
        settled += 1
        if wasIdentified { identified += 1 }
        if settled == total {
            onComplete()
        } else {
            fill()
        }
    }

    /// The ramp's deadline passed: abort every client still connecting or waiting for OK, as failures.
    func abandon() {
        for client in 0..<fleet.count where [.connecting, .handshaking, .greeting].contains(fleet.phase[client]) {
            fleet.close(client, .abort)
            fleet.countFailure()
        }
    }
}
