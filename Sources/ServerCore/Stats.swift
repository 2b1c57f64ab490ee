// Counters a worker keeps and the supervisor reads (STATUS, logs, later metrics).
// Relaxed atomics for the per-heartbeat counter; a lock only for the per-reap ones.
import Posix
import Synchronization

final class WorkerStats: Sendable {
    let connected = Atomic<Int>(0)
    let identified = Atomic<Int>(0)
    let sessionsTotal = Atomic<UInt64>(0)
    let heartbeats = Atomic<UInt64>(0)
    let tlsHandshakes = Atomic<UInt64>(0)
    let tlsResumptions = Atomic<UInt64>(0)
    /// Connections reset at accept for their network's connect rate (Worker+ConnectRate.swift).
    let connectRateRefusals = Atomic<UInt64>(0)
    let turns = TurnHistogram()
    /// Monotonic instant of the end of this worker's last loop turn (the watchdog reads it).
    let lastTurn = Atomic<UInt64>(0)
    private let reaps = Locked<[UInt64]>(Array(repeating: 0, count: Reason.allCases.count))
    private let acceptErrors = Locked<[String: UInt64]>([:])
    private let authFailures = Locked<[UInt64]>(Array(repeating: 0, count: AuthFailure.allCases.count))
    private let tlsFailures = Locked<[String: UInt64]>([:])

    /// A TLS connection that failed its handshake or its id check, by TLSError.Kind's label.
    func countTLSFailure(_ kind: String) {
        tlsFailures.withLock { $0[kind, default: 0] += 1 }
    }

    func countReap(_ reason: Reason) {
        let index = Reason.allCases.firstIndex(of: reason)!
        reaps.withLock { $0[index] += 1 }
    }

    func countAuthFailure(_ failure: AuthFailure) {
        let index = AuthFailure.allCases.firstIndex(of: failure)!
        authFailures.withLock { $0[index] += 1 }
    }

    func countAcceptError(_ name: String) {
        acceptErrors.withLock { $0[name, default: 0] += 1 }
    }

    func add(to snapshot: inout Snapshot) {
        snapshot.connected += connected.load(ordering: .relaxed)
        snapshot.identified += identified.load(ordering: .relaxed)
        snapshot.sessionsTotal += sessionsTotal.load(ordering: .relaxed)
        snapshot.heartbeats += heartbeats.load(ordering: .relaxed)
        let failures = authFailures.withLock { $0 }
        for (index, failure) in AuthFailure.allCases.enumerated() {
            snapshot.authFailures[failure, default: 0] += failures[index]
        }
        snapshot.tlsHandshakes += tlsHandshakes.load(ordering: .relaxed)
        snapshot.tlsResumptions += tlsResumptions.load(ordering: .relaxed)
        snapshot.connectRateRefusals += connectRateRefusals.load(ordering: .relaxed)
        for (kind, count) in tlsFailures.withLock({ $0 }) { snapshot.tlsHandshakeFailures[kind, default: 0] += count }
        turns.add(to: &snapshot)
        let reaps = reaps.withLock { $0 }
        for (index, reason) in Reason.allCases.enumerated() { snapshot.reaps[reason, default: 0] += reaps[index] }
        for (name, count) in acceptErrors.withLock({ $0 }) { snapshot.acceptErrors[name, default: 0] += count }
    }
}

/// The whole server's counters at one moment.
public struct Snapshot: Sendable, Equatable {
    /// Open sessions, identified or not.
    public var connected = 0
    /// Sessions that sent a valid HELLO: the clients.
    public var identified = 0
    public var sessionsTotal: UInt64 = 0
    public var heartbeats: UInt64 = 0
    /// Connections refused with `ERR auth-failed`, by why.
    public var authFailures: [AuthFailure: UInt64] = [:]
    /// Loop turns per TurnHistogram bucket (not cumulative; the last is over every bound), all workers.
    public var turnCounts: [UInt64] = []
    /// The time all those turns took together.
    public var turnNanoseconds: UInt64 = 0
    public var reaps: [Reason: UInt64] = [:]
    public var acceptErrors: [String: UInt64] = [:]
    /// Connections reset at accept because their network was over `connect_rate` (never sessions).
    public var connectRateRefusals: UInt64 = 0
    /// TLS handshakes completed, and how many of them resumed a session (a ticket).
    public var tlsHandshakes: UInt64 = 0
    public var tlsResumptions: UInt64 = 0
    /// TLS connections that failed, by reason (TLSError.Kind's labels, e.g. "not-tls", "timeout").
    public var tlsHandshakeFailures: [String: UInt64] = [:]
    public init() {}
}
