// One real ServerCore Worker on a clock the benchmark moves, holding sessions whose descriptor numbers
// lie above the process's descriptor limit: no socket exists behind them, so a million fit in a process
// that may open 20,000.
//
// Why that is honest, step by step: a Worker keys its SessionTable by the slot its loop gives each
// registration, whatever the descriptor number, and the registry and the wheel carry that slot. A number at or above
// RLIMIT_NOFILE's hard limit can never name an open descriptor of this process, so every syscall the
// worker makes for such a session (epoll_ctl ADD and DEL, shutdown, close, the farewell send) fails at
// once with EBADF and touches nothing real: the user-space work is the daemon's own, the kernel's share
// of a real close is not in these figures (the churn figures in docs/benchmarks.md have it).
// `connect` does what `Worker.adopt` does after accept4, minus the epoll registration's success (adopt
// would reap a session epoll refuses); HELLO, heartbeat expiry, takeover and reap are the worker's own
// methods (`identify`, the loop's turns → `sessionExpired` → re-arm or `reap`).
import Glibc
import Logging
import WireProtocol

@testable import EventLoop
@testable import Posix
@testable import ServerCore

/// Monotonic nanoseconds that move only when the benchmark says so.
final class ManualClock: @unchecked Sendable {
    // @unchecked: read and moved by the benchmark's one thread, which also runs the worker's turns.
    /// Far from zero, so nothing depends on the origin.
    var now: UInt64 = 1_000_000_000_007
}

final class Rig {
    static let tick: UInt64 = 100_000_000
    /// The daemon's defaults (config/heartbeatd.toml): a 10 s interval, timeout 3 intervals, 5 s for HELLO.
    static let interval: UInt64 = 10_000_000_000
    static let timeoutFactor: UInt64 = 3
    static var timeout: UInt64 { interval * timeoutFactor }

    let clock = ManualClock()
    let worker: Worker
    /// The first descriptor number the rig uses: the hard limit, where no descriptor of this process can be.
    let firstDescriptor: Int
    private var nextDescriptor: Int

    init(capacity: Int) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_max < UInt64(Int32.max) / 4 else {
            fatalError("needs a finite RLIMIT_NOFILE hard limit (sessions live above it)")
        }
        firstDescriptor = Int(limit.rlim_max)
        nextDescriptor = firstDescriptor
        let settings = Settings(
            interval: Self.interval, intervalMin: 1_000_000_000, intervalMax: 300_000_000_000,
            timeoutFactor: Self.timeoutFactor, helloTimeout: 5_000_000_000, pong: true, maxLine: 512,
            maxClients: capacity * 2, maxClientsPerAddress: 0, logSessions: false, logLevel: .critical,
            keepalive: TCPKeepalive(idleSeconds: 60, intervalSeconds: 10, count: 6, userTimeoutMilliseconds: 0),
            drainTimeout: 5_000_000_000
        )
        var logger = Logger(label: "session-scale")
        logger.logLevel = .critical
        let mailbox = try Mailbox<WorkerMessage>()
        worker = try Worker(
            index: 0, settings: settings, listeners: [], shared: Shared(mailboxes: [mailbox]), tick: Self.tick,
            mailbox: mailbox, logger: logger, clock: { [clock] in clock.now })
        try worker.prepare()
    }

    /// A new session from `peer`, as `Worker.adopt` makes one (see the file's opening comment); its slot.
    func connect(from peer: SocketAddress) -> Int {
        let descriptor = Int32(nextDescriptor)
        nextDescriptor += 1
        let slot = worker.loop.reserve(DescriptorID(number: descriptor), handler: worker.sessionHandler)
        let serial = worker.nextSerial
        worker.nextSerial = (serial + 1) % Owner.serialLimit
        let now = worker.loop.now
        worker.sessions.insert(
            Session(socket: Socket(owning: descriptor), peer: peer, serial: serial, now: now), at: slot)
        worker.stats.connected.add(1, ordering: .relaxed)
        worker.stats.sessionsTotal.add(1, ordering: .relaxed)
        _ = worker.shared.admission.enter(
            peer.host, maxClients: worker.settings.maxClients, maxPerAddress: worker.settings.maxClientsPerAddress)
        try? worker.loop.watch(slot: slot, interest: [.readable, .peerClosed])
        worker.armSessionTimer(slot, at: now + worker.settings.helloTimeout)
        return slot
    }

    /// A HELLO that parsed: the worker's own identify (registry claim, takeover, wheel, OK, presence).
    /// The OK line it appended is dropped, as the write after the batch would.
    func hello(_ slot: Int, id: String) {
        _ = worker.identify(slot, Hello(id: id))
        worker.output.removeAll(keepingCapacity: true)
    }

    /// What a PING does to its session (Worker+Input `handle`): the deadline moves lazily, the wheel
    /// learns of it when the old one comes up (`sessionExpired` re-arms).
    func heartbeat(_ slot: Int) {
        worker.sessions[slot].lastHeard = worker.loop.now
        worker.stats.heartbeats.add(1, ordering: .relaxed)
    }

    /// Moves the clock by `nanoseconds` and runs the worker's turns through it, one per tick, so each
    /// turn's wheel advance fires what a real tick would.
    func run(for nanoseconds: UInt64) throws {
        let end = clock.now + nanoseconds
        while clock.now < end {
            clock.now = min(clock.now + Self.tick, end)
            try turn()
        }
    }

    /// One loop turn at the clock's instant; the ping makes epoll_wait return at once.
    func turn() throws {
        worker.mailbox.post(.ping)
        try worker.loop.runTurn()
    }

    var connected: Int { worker.stats.connected.load(ordering: .relaxed) }
}

/// Resident memory of this process in bytes (/proc/self/statm's second field, in pages).
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    precondition(fd >= 0, "cannot open /proc/self/statm")
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    precondition(count > 0, "cannot read /proc/self/statm")
    let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
    let pages = Int(String(decoding: fields[1], as: UTF8.self))!
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
