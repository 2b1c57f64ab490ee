// flood: C connections each keeping DEPTH PINGs in flight for a fixed time: the daemon's heartbeat
// throughput when it never waits for clients.
import ArgumentParser
import EventLoop
import Posix

struct Flood: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep DEPTH PINGs in flight on each of C connections; report heartbeats per second.",
        discussion: "Each PONG is answered with a new PING in the same loop turn, batched into one write per read."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("c"), .customLong("connections")], help: "Connections.")
    var connections = 50

    @Option(name: [.customShort("D"), .customLong("depth")], help: "PINGs in flight per connection.")
    var depth = 16

    @Option(
        name: [.customShort("d"), .customLong("duration")],
        help: ArgumentHelp("Length of the measured window.", valueName: "duration"))
    var duration = BenchDuration(seconds: 10)

    @Option(
        name: .long, help: ArgumentHelp("The daemon's process id, to sample its CPU time from /proc.", valueName: "pid")
    )
    var pid: Int32?

    @Option(
        name: .long,
        help: ArgumentHelp("Speak MQTT (Mosquitto) or RESP (Redis) instead, for comparisons.", valueName: "mqtt|redis"))
    var peer: Peer?

    @Flag(
        name: .long,
        help: "Untagged PINGs whose replies are only counted, RTT from each connection's last send (Redis's cost).")
    var unstamped = false

    func validate() throws {
        guard connections > 0, duration.nanoseconds > 0 else { throw ValidationError("-c and -d must be positive") }
        // Every PING line is at most 22 bytes; keep what one connection has in flight far below a socket buffer.
        guard (1...256).contains(depth) else { throw ValidationError("-D must be 1 to 256") }
    }

    func run() throws {
        try common.checkDescriptors(for: connections)
        let server = try common.serverAddress()
        // The connections beat constantly; the longest interval keeps the HELLO valid and irrelevant.
        let fleet = try Fleet(
            clients: connections, server: server, sources: common.sourceAddresses(for: server),
            idPrefix: common.idPrefix, intervalMS: 300_000)
        fleet.servers = try common.serverAddresses()
        fleet.tls = try common.tls.context()
        fleet.resume = common.tls.resume
        fleet.auth = try common.fleetAuth()
        fleet.peer = peer
        if unstamped { fleet.sentAt = Array(repeating: 0, count: connections) }
        let summary = try FloodRun(fleet: fleet, options: self).execute()
        print(common.json ? summary.json : summary.text(), terminator: common.json ? "\n" : "")
    }
}

final class FloodRun {
    private enum Event: UInt64 {
        case rampDeadline = 1
        case windowEnd, drainEnd
    }
    // The timer kind whose payload is an Event.
    private var events: EventLoop.TimerHandlerID!

    private let fleet: Fleet
    private let options: Flood
    private let ramp: Ramp
    private var isFlooding = false
    private var dropped = 0
    private var windowStart: UInt64 = 0
    private var windowEnd: UInt64 = 0
    private var pongsAtStart: UInt64 = 0
    private var pongsAtEnd: UInt64 = 0
    private var startSample: ProcessSample?
    private var endSample: ProcessSample?

    init(fleet: Fleet, options: Flood) {
        self.fleet = fleet
        self.options = options
        ramp = Ramp(fleet: fleet, total: options.connections, maxInFlight: options.common.maxInFlight)
    }

    func execute() throws -> Summary {
        let loop = fleet.loop
        fleet.onIdentified = { [unowned self] _ in ramp.settle(identified: true) }
        fleet.onEnded = { [unowned self] _, _, previous in
            if previous == .identified { dropped += 1 } else if !ramp.isComplete { ramp.settle(identified: false) }
        }
        fleet.onPongs = { [unowned self] client, count in
            if isFlooding { fleet.ping(client, count: count) }
        }
        ramp.onComplete = { [unowned self] in beginWindow() }
        events = loop.addTimerHandler { [unowned self] payload in
            switch Event(rawValue: payload) {
            case .rampDeadline:
                if !ramp.isComplete {
                    ramp.abandon()
                    beginWindow()
                }
            case .windowEnd:
                isFlooding = false
                windowEnd = loop.now
                pongsAtEnd = fleet.pongs
                endSample = options.pid.flatMap { try? ProcessSample.read(pid: $0) }
                _ = loop.arm(events, Event.drainEnd.rawValue, at: windowEnd + 500_000_000)
            case .drainEnd:
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

    private func beginWindow() {
        guard windowStart == 0 else { return }
        windowStart = fleet.loop.now
        pongsAtStart = fleet.pongs
        startSample = options.pid.flatMap { try? ProcessSample.read(pid: $0) }
        isFlooding = true
        for client in 0..<fleet.count where fleet.phase[client] == .identified {
            fleet.ping(client, count: options.depth)
        }
        _ = fleet.loop.arm(events, Event.windowEnd.rawValue, at: windowStart + options.duration.nanoseconds)
    }

    private func summary() -> Summary {
        var summary = Summary()
        summary.set("mode", "flood")
        summary.set("clients", options.connections)
        summary.set("connected", ramp.identified)
        summary.set("failures", fleet.failures)
        summary.set("dropped", dropped)
        summary.set("heartbeats", fleet.pingsSent)
        summary.set("pongs", fleet.pongs)
        summary.set("rtt_us", Summary.percentiles(fleet.rtt))
        summary.set("depth", options.depth)
        if options.unstamped { summary.set("pings", "unstamped") }
        let seconds = Double(windowEnd - windowStart) / 1e9
        summary.set("window_s", seconds)
        summary.set("heartbeats_per_second", seconds > 0 ? Double(pongsAtEnd - pongsAtStart) / seconds : 0)
        if let start = startSample, let end = endSample, pongsAtEnd > pongsAtStart {
            let milliseconds = Double(end.cpuNanoseconds - start.cpuNanoseconds) / 1e6
            summary.set("cpu_ms_per_1000_heartbeats", milliseconds / Double(pongsAtEnd - pongsAtStart) * 1000)
        }
        return summary
    }
}
