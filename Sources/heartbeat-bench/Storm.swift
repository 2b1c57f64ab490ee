// storm: N clients connected and identified, then all dropped and reconnecting at the same instant (or
// spread by the client library's full-jitter backoff), while a separate steady set keeps beating. It
// reports the time until all are online again, the kernel's listen-queue counters, and the steady RTT.
import ArgumentParser
import EventLoop
import Histogram
import Posix

struct Storm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Drop N identified clients at once and reconnect them all (instant, or with full-jitter backoff); report the time until all are online, listen-queue overflows and SYN cookies, and the RTT of clients that stayed.",
        discussion: """
            The steady clients (--steady) are not part of the storm: they keep beating every --interval, first \
            through a quiet window (their baseline RTT), then through the storm until every storm client is \
            online again. A reconnect that fails is retried after the HeartbeatClient library's full-jitter \
            backoff (a random time in [0, min(cap, base × 2^attempt)]). The kernel's counters \
            (TcpExtListenOverflows, TcpExtListenDrops, TcpExtSyncookiesSent) are read from /proc/net/netstat \
            before and after the storm; they count for the whole network namespace. Every HELLO proposes \
            300 s, so that the storm clients, which do not beat, are never reaped for it.
            """
    )

    enum Reconnect: String, ExpressibleByArgument, CaseIterable {
        /// Every client reconnects in the same loop turn.
        case instant
        /// Every client first waits its own backoff delay for attempt 0, as the client library does.
        case jitter
    }

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("n"), .customLong("clients")], help: "Clients in the storm.")
    var clients = 1000

    @Option(name: .long, help: "Clients that stay connected and keep beating through the storm.")
    var steady = 50

    @Option(
        name: [.customShort("i"), .customLong("interval")],
        help: ArgumentHelp("How often each steady client beats.", valueName: "duration"))
    var interval = BenchDuration(argument: "100ms")!

    @Option(name: .long, help: "How the storm clients come back: instant or jitter.")
    var reconnect = Reconnect.instant

    @Option(name: .long, help: ArgumentHelp("The backoff's base (its first ceiling).", valueName: "duration"))
    var backoffBase = BenchDuration(seconds: 1)

    @Option(name: .long, help: ArgumentHelp("The backoff's cap.", valueName: "duration"))
    var backoffCap = BenchDuration(seconds: 60)

    @Option(
        name: .long,
        help: ArgumentHelp("Before the storm, how long the steady clients beat alone.", valueName: "duration"))
    var quiet = BenchDuration(seconds: 2)

    @Option(
        name: .long, help: ArgumentHelp("Give up waiting for every storm client to be online.", valueName: "duration"))
    var timeout = BenchDuration(seconds: 120)

    /// Every HELLO proposes 300 s (the default interval_max): storm clients do not beat, and neither the ramp
    /// of 15,000 nor a slow storm may outlast their timeout. The steady clients beat faster than that anyway.
    static let helloIntervalMS: UInt64 = 300_000

    func validate() throws {
        guard clients > 0, steady >= 0, interval.nanoseconds > 0 else {
            throw ValidationError("-n and -i must be positive, --steady at least 0")
        }
        guard backoffBase.nanoseconds > 0, backoffBase.nanoseconds <= backoffCap.nanoseconds else {
            throw ValidationError("--backoff-base must be positive and at most --backoff-cap")
        }
    }

    func run() throws {
        try common.checkDescriptors(for: clients + steady)
        let server = try common.serverAddress()
        let fleet = try Fleet(
            clients: steady + clients, server: server, sources: common.sourceAddresses(for: server),
            idPrefix: common.idPrefix, intervalMS: Self.helloIntervalMS)
        fleet.tls = try common.tls.context()
        fleet.auth = try common.fleetAuth()
        let summary = try StormRun(fleet: fleet, options: self).execute()
        print(common.json ? summary.json : summary.text(), terminator: common.json ? "\n" : "")
    }
}

/// The HeartbeatClient library's reconnect rule (clients/swift, `HeartbeatClient.Backoff`), restated here
/// because the bench does not link the library and its SwiftNIO: before retry `attempt` (0 first), a random
/// time in [0, min(cap, base × 2^attempt)].
struct FullJitter {
    let base: UInt64
    let cap: UInt64

    func delay(attempt: Int) -> UInt64 {
        var ceiling = base
        for _ in 0..<min(attempt, 63) where ceiling < cap { ceiling = ceiling.multipliedReportingOverflow(by: 2).0 }
        return UInt64.random(in: 0...min(ceiling, cap))
    }
}

final class StormRun {
    private enum Event: UInt64 {
        case rampDeadline = 1
        case stormStart, stormDeadline, stop
    }
    private var events: EventLoop.TimerHandlerID!
    private var beats: EventLoop.TimerHandlerID!
    private var reconnects: EventLoop.TimerHandlerID!

    private let fleet: Fleet
    private let options: Storm
    private let ramp: Ramp
    private let backoff: FullJitter
    /// Storm clients are `steady..<steady + clients`.
    private let steady: Int
    private var attempts: [Int]
    private var quietRTT: Histogram<UInt64>
    /// Storm clients identified when the storm began: "all online" means all of these.
    private var expected = 0
    private var stormStart: UInt64 = 0
    private var stormEnd: UInt64 = 0
    private var online = 0
    private var lastOnline: UInt64 = 0
    private var retries = 0
    private var failuresByKind: [String: Int] = [:]
    private var steadyDropped = 0
    private var countersBefore: ListenCounters?
    private var countersAfter: ListenCounters?

    init(fleet: Fleet, options: Storm) {
        self.fleet = fleet
        self.options = options
        steady = options.steady
        ramp = Ramp(fleet: fleet, total: options.steady + options.clients, maxInFlight: options.common.maxInFlight)
        backoff = FullJitter(base: options.backoffBase.nanoseconds, cap: options.backoffCap.nanoseconds)
        attempts = Array(repeating: 0, count: options.steady + options.clients)
        quietRTT = fleet.rtt
    }

    func execute() throws -> Summary {
        let loop = fleet.loop
        fleet.onIdentified = { [unowned self] client in identified(client) }
        fleet.onEnded = { [unowned self] client, ending, previous in ended(client, ending, previous) }
        ramp.onComplete = { [unowned self] in
            _ = loop.arm(events, Event.stormStart.rawValue, at: loop.now + options.quiet.nanoseconds)
        }
        beats = loop.addTimerHandler { [unowned self] client in beat(Int(client)) }
        reconnects = loop.addTimerHandler { [unowned self] client in fleet.connect(Int(client), idNumber: Int(client)) }
        events = loop.addTimerHandler { [unowned self] payload in
            switch Event(rawValue: payload) {
            case .rampDeadline:
                guard !ramp.isComplete else { return }
                ramp.abandon()
                startStorm()
            case .stormStart: startStorm()
            case .stormDeadline: endStorm()
            case .stop:
                fleet.closeAll()
                loop.stop()
            case nil: break
            }
        }
        _ = loop.arm(events, Event.rampDeadline.rawValue, at: loop.now + options.common.rampTimeout.nanoseconds)
        ramp.fill()
        try loop.run()
        return summary()
    }

    private func identified(_ client: Int) {
        if !ramp.isComplete { ramp.settle(identified: true) }
        if client < steady {
            if stormStart == 0 {
                _ = fleet.loop.arm(beats, UInt64(client), at: fleet.loop.now + UInt64.random(in: 0..<interval))
            }
            return
        }
        guard stormStart != 0, stormEnd == 0 else { return }
        attempts[client] = 0
        online += 1
        lastOnline = fleet.loop.now
        if online == options.clients { endStorm() }
    }

    private func ended(_ client: Int, _ ending: Fleet.Ending, _ previous: Fleet.Phase) {
        if !ramp.isComplete, previous != .identified { ramp.settle(identified: false) }
        if client < steady {
            if previous == .identified { steadyDropped += 1 }
            return
        }
        guard stormStart != 0, stormEnd == 0 else { return }
        if previous == .identified { online -= 1 }
        failuresByKind[Self.kind(ending), default: 0] += 1
        // The client library's rule: retry `attempt`, after a connection that never came up.
        retries += 1
        fleet.reset(client)
        let delay = backoff.delay(attempt: attempts[client])
        attempts[client] += 1
        _ = fleet.loop.arm(reconnects, UInt64(client), at: fleet.loop.now + delay)
    }

    private var interval: UInt64 { options.interval.nanoseconds }

    private func beat(_ client: Int) {
        guard stormEnd == 0, fleet.phase[client] == .identified, fleet.ping(client) else { return }
        _ = fleet.loop.arm(beats, UInt64(client), at: fleet.loop.now + interval)
    }

    /// Every storm client that is up is reset (RST, as when a NAT or a cell drops them all) and starts over.
    private func startStorm() {
        let loop = fleet.loop
        quietRTT = fleet.rtt
        fleet.rtt.reset()
        countersBefore = ListenCounters.read()
        stormStart = loop.now
        var dropped: [Int] = []
        for client in steady..<fleet.count where fleet.phase[client] == .identified {
            fleet.close(client, .abort)
            fleet.reset(client)
            dropped.append(client)
        }
        expected = dropped.count
        for client in dropped {
            switch options.reconnect {
            case .instant:
                fleet.connect(client, idNumber: client)
            case .jitter:
                attempts[client] = 1
                _ = loop.arm(reconnects, UInt64(client), at: loop.now + backoff.delay(attempt: 0))
            }
        }
        _ = loop.arm(events, Event.stormDeadline.rawValue, at: stormStart + options.timeout.nanoseconds)
    }

    private func endStorm() {
        guard stormEnd == 0 else { return }
        stormEnd = fleet.loop.now
        countersAfter = ListenCounters.read()
        _ = fleet.loop.arm(events, Event.stop.rawValue, at: stormEnd + 100_000_000)
    }

    private static func kind(_ ending: Fleet.Ending) -> String {
        switch ending {
        case .connectFailed(let errno): "connect \(errno.name)"
        case .refused(let code): "ERR \(code)"
        case .closedByServer(let bye): bye.map { "BYE \($0)" } ?? "closed"
        case .socketError(let errno): errno.name
        case .sendBlocked: "send blocked"
        }
    }

    private func summary() -> Summary {
        var summary = Summary()
        summary.set("mode", "storm")
        summary.set("reconnect", options.reconnect.rawValue)
        summary.set("clients", options.clients)
        summary.set("steady", options.steady)
        summary.set("connected", expected)
        summary.set("online", online)
        summary.set("all_online", online == expected && stormStart != 0 ? 1 : 0)
        summary.set("all_online_s", lastOnline > stormStart ? Double(lastOnline - stormStart) / 1e9 : 0)
        summary.set("retries", retries)
        var failures = Summary()
        for (kind, count) in failuresByKind.sorted(by: { $0.key < $1.key }) { failures.set(kind, count) }
        summary.set("failures_by_kind", failures)
        if let before = countersBefore, let after = countersAfter {
            summary.set("listen_overflows", after.overflows &- before.overflows)
            summary.set("listen_drops", after.drops &- before.drops)
            summary.set("syncookies_sent", after.syncookies &- before.syncookies)
        }
        summary.set("steady_dropped", steadyDropped)
        summary.set("steady_rtt_quiet_us", Summary.percentiles(quietRTT))
        summary.set("steady_rtt_storm_us", Summary.percentiles(fleet.rtt))
        return summary
    }
}
