// reap: clients that go silent at known instants, spread over a window; for each, how late after
// its deadline (last PING sent + granted timeout) the daemon's `BYE timeout` arrived.
import ArgumentParser
import EventLoop
import Histogram
import Posix

struct Reap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Let N clients fall silent at known instants; report how late after its deadline each was reaped (p50/p99/max).",
        discussion: """
            After the ramp, client k sends its last PING at start + 1 s + spread × k / N and then nothing. Its \
            deadline is that send time plus the timeout granted in OK; its lateness is when BYE timeout was \
            read minus the deadline. The send time is taken before the PING leaves, so the figure includes \
            loopback delivery and the bench's own reading: it can only overstate the daemon's lateness.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("n"), .customLong("clients")], help: "Clients.")
    var clients = 1000

    @Option(
        name: [.customShort("i"), .customLong("interval")],
        help: ArgumentHelp("Heartbeat interval until silence.", valueName: "duration"))
    var interval = BenchDuration(seconds: 1)

    @Option(name: .long, help: ArgumentHelp("Silences are spread evenly over this window.", valueName: "duration"))
    var spread = BenchDuration(seconds: 5)

    func validate() throws {
        guard clients > 0, interval.nanoseconds > 0 else { throw ValidationError("-n and -i must be positive") }
    }

    func run() throws {
        try common.checkDescriptors(for: clients)
        let server = try common.serverAddress()
        let fleet = try Fleet(
            clients: clients, server: server, sources: common.sourceAddresses(for: server), idPrefix: common.idPrefix,
            intervalMS: interval.milliseconds)
        fleet.servers = try common.serverAddresses()
        fleet.tls = try common.tls.context()
        fleet.resume = common.tls.resume
        fleet.auth = try common.fleetAuth()
        let summary = try ReapRun(fleet: fleet, options: self).execute()
        print(common.json ? summary.json : summary.text(), terminator: common.json ? "\n" : "")
    }
}

final class ReapRun {
    private enum Event: UInt64 {
        case rampDeadline = 1
        case giveUp
    }
    // Timer kinds: `events` carries an Event, `beats` a client's index.
    private var events: EventLoop.TimerHandlerID!
    private var beats: EventLoop.TimerHandlerID!

    private let fleet: Fleet
    private let options: Reap
    private let ramp: Ramp
    private let interval: UInt64
    private var nextBeat: [UInt64]
    private var silentAt: [UInt64]
    private var lastSent: [UInt64]
    private var isSilent: [Bool]
    private var lateness = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    private var reaped = 0
    private var early = 0
    private var earliest: Int64 = .max
    private var otherEndings = 0
    private var open = 0
    private var maxTimeout: UInt64 = 0

    init(fleet: Fleet, options: Reap) {
        self.fleet = fleet
        self.options = options
        interval = options.interval.nanoseconds
        ramp = Ramp(fleet: fleet, total: options.clients, maxInFlight: options.common.maxInFlight)
        nextBeat = Array(repeating: 0, count: options.clients)
        silentAt = Array(repeating: .max, count: options.clients)
        lastSent = Array(repeating: 0, count: options.clients)
        isSilent = Array(repeating: false, count: options.clients)
    }

    func execute() throws -> Summary {
        let loop = fleet.loop
        fleet.onIdentified = { [unowned self] client in
            open += 1
            maxTimeout = max(maxTimeout, fleet.grantedTimeout[client])
            ramp.settle(identified: true)
            nextBeat[client] = loop.now + UInt64.random(in: 0..<interval)
            _ = loop.arm(beats, UInt64(client), at: nextBeat[client])
        }
        fleet.onBye = { [unowned self] client, reason, at in
            guard reason == "timeout", isSilent[client] else { return }
            let deadline = lastSent[client] + fleet.grantedTimeout[client]
            let late = Int64(bitPattern: at &- deadline)
            reaped += 1
            if late < 0 {
                early += 1
                earliest = min(earliest, late)
            }
            _ = lateness.record(UInt64(max(0, late)) / 1_000)
        }
        fleet.onEnded = { [unowned self] client, ending, previous in
            guard previous == .identified else {
                if !ramp.isComplete { ramp.settle(identified: false) }
                return
            }
            open -= 1
            if case .closedByServer(let bye) = ending, bye == "timeout", isSilent[client] {
                // Counted in onBye.
            } else {
                otherEndings += 1
            }
            if open == 0 && ramp.isComplete { loop.stop() }
        }
        ramp.onComplete = { [unowned self] in scheduleSilences() }
        beats = loop.addTimerHandler { [unowned self] client in beat(Int(client)) }
        events = loop.addTimerHandler { [unowned self] payload in
            switch Event(rawValue: payload) {
            case .rampDeadline:
                if !ramp.isComplete {
                    ramp.abandon()
                    scheduleSilences()
                }
            case .giveUp:
                fleet.closeAll()
                loop.stop()
            case nil:
                break
            }
        }
        _ = loop.arm(events, Event.rampDeadline.rawValue, at: loop.now + options.common.rampTimeout.nanoseconds)
        ramp.fill()
        try loop.run()
        return summary()
    }

    /// Client k falls silent at start + 1 s + spread × k / N; its next beat is moved there if later.
    private func scheduleSilences() {
        let start = fleet.loop.now + 1_000_000_000
        let count = UInt64(fleet.count)
        for client in 0..<fleet.count where fleet.phase[client] == .identified {
            silentAt[client] = start + options.spread.nanoseconds * UInt64(client) / count
        }
        let giveUp = start + options.spread.nanoseconds + maxTimeout + interval + 3_000_000_000
        _ = fleet.loop.arm(events, Event.giveUp.rawValue, at: giveUp)
        if open == 0 { fleet.loop.stop() }
    }

    private func beat(_ client: Int) {
        guard fleet.phase[client] == .identified, !isSilent[client] else { return }
        let now = fleet.loop.now
        if now >= silentAt[client] {
            lastSent[client] = Clock.monotonicNanoseconds()
            isSilent[client] = true
            fleet.ping(client)
            return
        }
        guard fleet.ping(client) else { return }
        nextBeat[client] = min(nextBeat[client] + interval, silentAt[client])
        if nextBeat[client] <= now { nextBeat[client] = min(now + interval, silentAt[client]) }
        _ = fleet.loop.arm(beats, UInt64(client), at: nextBeat[client])
    }

    private func summary() -> Summary {
        var summary = Summary()
        summary.set("mode", "reap")
        summary.set("clients", options.clients)
        summary.set("connected", ramp.identified)
        summary.set("failures", fleet.failures)
        summary.set("heartbeats", fleet.pingsSent)
        summary.set("pongs", fleet.pongs)
        summary.set("rtt_us", Summary.percentiles(fleet.rtt))
        summary.set("timeout_ms", maxTimeout / 1_000_000)
        summary.set("reaped", reaped)
        summary.set("early", early)
        if early > 0 { summary.set("earliest_ms", Double(earliest) / 1e6) }
        summary.set("not_reaped", ramp.identified - reaped - otherEndings)
        summary.set("other_endings", otherEndings)
        var late = Summary()
        late.set("p50", lateness.totalCount == 0 ? 0 : Double(lateness.valueAtPercentile(50)) / 1000)
        late.set("p99", lateness.totalCount == 0 ? 0 : Double(lateness.valueAtPercentile(99)) / 1000)
        late.set("max", lateness.totalCount == 0 ? 0 : Double(lateness.max) / 1000)
        summary.set("lateness_ms", late)
        return summary
    }
}
