// hold: ramp N clients, beat every interval through a steady window, and report what holding them
// costs: RTT, lost beats and, with --pid, the daemon's memory per client and CPU per 1000 beats.
import ArgumentParser
import EventLoop
import Posix

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Hold N clients beating every interval; report RTT, lost beats, and the daemon's RSS per client and CPU per 1000 heartbeats (--pid).",
        discussion:
            "The steady window starts once every client has connected (or failed); --pid samples are taken before the ramp and at both edges of the window."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Restart and upgrade") var switching: SwitchOptions

    @Option(name: [.customShort("n"), .customLong("clients")], help: "Clients to hold.")
    var clients = 1000

    @Option(
        name: [.customShort("i"), .customLong("interval")],
        help: ArgumentHelp("Heartbeat interval (proposed in HELLO and used).", valueName: "duration"))
    var interval = BenchDuration(seconds: 10)

    @Option(
        name: [.customShort("d"), .customLong("duration")],
        help: ArgumentHelp("Length of the steady window.", valueName: "duration"))
    var duration = BenchDuration(seconds: 10)

    @Option(
        name: .long,
        help: ArgumentHelp("The daemon's process id, to sample its RSS and CPU time from /proc.", valueName: "pid"))
    var pid: Int32?

    @Option(
        name: .long,
        help: ArgumentHelp("Speak MQTT (Mosquitto) or RESP (Redis) instead, for comparisons.", valueName: "mqtt|redis"))
    var peer: Peer?

    @Option(
        name: .long, help: ArgumentHelp("After the window, how long to wait for the last PONGs.", valueName: "duration")
    )
    var drain = BenchDuration(seconds: 1)

    func validate() throws {
        guard clients > 0, interval.nanoseconds > 0, duration.nanoseconds > 0 else {
            throw ValidationError("-n, -i and -d must be positive")
        }
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
        fleet.peer = peer
        fleet.auth = try common.fleetAuth()
        let run = HoldRun(fleet: fleet, options: self)
        let summary = try run.execute()
        print(common.json ? summary.json : summary.text(), terminator: common.json ? "\n" : "")
    }
}

final class HoldRun {
    private enum Event: UInt64 {
        case rampDeadline = 1
        case windowEnd, drainEnd
    }
    // Timer kinds: `events` carries an Event, `beats` a client's index.
    private var events: EventLoop.TimerHandlerID!
    private var beats: EventLoop.TimerHandlerID!

    private let fleet: Fleet
    private let options: Hold
    private let ramp: Ramp
    private let interval: UInt64
    private var nextBeat: [UInt64]
    private var isBeating = true
    private var dropped = 0
    private var started: UInt64 = 0
    private var windowStart: UInt64 = 0
    private var windowEnd: UInt64 = 0
    private var pingsAtWindowStart: UInt64 = 0
    private var pingsAtWindowEnd: UInt64 = 0
    private var samples: [ProcessSample?] = []
    private var unsettled = 0
    private var watch: SwitchWatch!

    init(fleet: Fleet, options: Hold) {
        self.fleet = fleet
        self.options = options
        interval = options.interval.nanoseconds
        ramp = Ramp(fleet: fleet, total: options.clients, maxInFlight: options.common.maxInFlight)
        nextBeat = Array(repeating: 0, count: options.clients)
    }

    func execute() throws -> Summary {
        let loop = fleet.loop
        samples.append(sample())
        watch = SwitchWatch(fleet: fleet, options: options.switching)
        fleet.onIdentified = { [unowned self] client in
            if !watch.identified(client) { ramp.settle(identified: true) }
            nextBeat[client] = loop.now + UInt64.random(in: 0..<interval)
            _ = loop.arm(beats, UInt64(client), at: nextBeat[client])
        }
        fleet.onEnded = { [unowned self] client, ending, previous in
            if watch.ended(client, ending, previous: previous), previous != .identified { return }
            if previous == .identified {
                dropped += 1
            } else if !ramp.isComplete {
                ramp.settle(identified: false)
            }
        }
        ramp.onComplete = { [unowned self] in beginWindow() }
        beats = loop.addTimerHandler { [unowned self] client in beat(Int(client)) }
        events = loop.addTimerHandler { [unowned self] payload in
            switch Event(rawValue: payload) {
            case .rampDeadline: if !ramp.isComplete { abandonRamp() }
            case .windowEnd: endWindow()
            case .drainEnd:
                fleet.closeAll()
                loop.stop()
            case nil: break
            }
        }
        started = loop.now
        _ = loop.arm(events, Event.rampDeadline.rawValue, at: started + options.common.rampTimeout.nanoseconds)
        ramp.fill()
        try loop.run()
        return summary()
    }

    private func beat(_ client: Int) {
        // A timer armed before a reconnect (a new one was armed at OK) is stale: it comes early.
        guard isBeating, fleet.phase[client] == .identified, fleet.loop.now + 2_000_000 >= nextBeat[client] else {
            return
        }
        guard fleet.ping(client) else { return }
        watch.sent(client)
        nextBeat[client] += interval
        if nextBeat[client] <= fleet.loop.now { nextBeat[client] = fleet.loop.now + interval }
        _ = fleet.loop.arm(beats, UInt64(client), at: nextBeat[client])
    }

    /// The ramp timed out: stop waiting for the stragglers and measure what is connected.
    private func abandonRamp() {
        ramp.abandon()
        unsettled = options.clients - ramp.started
        beginWindow()
    }

    private func beginWindow() {
        guard windowStart == 0 else { return }
        windowStart = fleet.loop.now
        samples.append(sample())
        pingsAtWindowStart = fleet.pingsSent
        _ = fleet.loop.arm(events, Event.windowEnd.rawValue, at: windowStart + options.duration.nanoseconds)
    }

    private func endWindow() {
        windowEnd = fleet.loop.now
        samples.append(sample())
        pingsAtWindowEnd = fleet.pingsSent
        isBeating = false
        _ = fleet.loop.arm(events, Event.drainEnd.rawValue, at: windowEnd + options.drain.nanoseconds)
    }

    private func sample() -> ProcessSample? {
        guard let pid = options.pid else { return nil }
        return try? ProcessSample.read(pid: pid)
    }

    private func summary() -> Summary {
        var summary = Summary()
        summary.set("mode", "hold")
        summary.set("clients", options.clients)
        summary.set("connected", ramp.identified)
        summary.set("failures", fleet.failures + unsettled)
        summary.set("dropped", dropped)
        summary.set("heartbeats", fleet.pingsSent)
        summary.set("pongs", fleet.pongs)
        summary.set("lost_beats", fleet.pingsSent > fleet.pongs ? fleet.pingsSent - fleet.pongs : 0)
        summary.set("rtt_us", Summary.percentiles(fleet.rtt))
        summary.set("interval_ms", options.interval.milliseconds)
        summary.set("ramp_s", Double(windowStart - started) / 1e9)
        summary.set("window_s", Double(windowEnd - windowStart) / 1e9)
        let beatsInWindow = pingsAtWindowEnd - pingsAtWindowStart
        summary.set("heartbeats_in_window", beatsInWindow)
        summary.set("switch", watch.summary(origin: windowStart))
        if options.pid != nil, samples.count == 3, let before = samples[0], let start = samples[1], let end = samples[2]
        {
            var daemon = Summary()
            daemon.set("rss_before_kib", before.residentBytes / 1024)
            daemon.set("rss_window_start_kib", start.residentBytes / 1024)
            daemon.set("rss_window_end_kib", end.residentBytes / 1024)
            daemon.set("cpu_window_ms", Double(end.cpuNanoseconds - start.cpuNanoseconds) / 1e6)
            summary.set("daemon", daemon)
            let grown = end.residentBytes > before.residentBytes ? end.residentBytes - before.residentBytes : 0
            summary.set("rss_per_client_bytes", ramp.identified > 0 ? Double(grown) / Double(ramp.identified) : 0)
            let cpuMilliseconds = Double(end.cpuNanoseconds - start.cpuNanoseconds) / 1e6
            summary.set(
                "cpu_ms_per_1000_heartbeats", beatsInWindow > 0 ? cpuMilliseconds / Double(beatsInWindow) * 1000 : 0)
        }
        return summary
    }
}
