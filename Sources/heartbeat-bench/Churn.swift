// churn: connect, HELLO, OK, leave — over and over, in three ways of leaving — then count the
// daemon port's sockets by state: no CLOSE_WAIT and no leftover ESTABLISHED are expected.
import ArgumentParser
import EventLoop
import Posix

/// The ways a churn cycle ends a session.
enum Leaving: String, CaseIterable {
    /// `BYE`, then wait for the server's `BYE bye` and its close.
    case clean
    /// Close with RST.
    case abort
    /// Disappear without a packet (TCP_REPAIR); the daemon reaps the session at its timeout.
    case vanish
}

struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run CYCLES connect-HELLO-leave cycles; report cycles per second and the daemon port's sockets by state.",
        discussion: """
            -m lists the ways to leave, separated by colons, used in turn: clean (BYE), abort (RST), \
            vanish (no packet; needs CAP_NET_ADMIN, else RST is used and counted). A way listed twice \
            is used twice as often. Sessions propose interval=1000, so vanished ones time out after 3 s; \
            the socket count waits --settle (default: 4 s with vanish, else 1 s).
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("k"), .customLong("cycles")], help: "Cycles to run.")
    var cycles = 10_000

    @Option(name: [.customShort("c"), .customLong("concurrency")], help: "Cycles in progress at once.")
    var concurrency = 50

    @Option(
        name: [.customShort("m"), .customLong("mix")],
        help: ArgumentHelp("Ways to leave, e.g. clean:abort:vanish.", valueName: "mix"))
    var mix = "clean:abort:vanish"

    @Option(
        name: .long,
        help: ArgumentHelp("Wait this long after the last cycle before counting sockets.", valueName: "duration"))
    var settle: BenchDuration?

    @Option(name: .long, help: ArgumentHelp("Stop after this long even if cycles remain.", valueName: "duration"))
    var timeLimit = BenchDuration(seconds: 300)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Speak RESP (Redis) instead, for comparisons: PING for HELLO, QUIT for BYE.", valueName: "redis"))
    var peer: Peer?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Reuse N ids (at least -c); with several --server, an id comes back on another server (Servers.swift).",
            valueName: "N"))
    var ids: Int?

    var leavings: [Leaving] { mix.split(separator: ":").compactMap { Leaving(rawValue: String($0)) } }

    func validate() throws {
        guard cycles > 0, concurrency > 0 else { throw ValidationError("-k and -c must be positive") }
        if let ids, ids < min(concurrency, cycles) { throw ValidationError("--ids must be at least -c") }
        let words = mix.split(separator: ":")
        guard !words.isEmpty, words.allSatisfy({ Leaving(rawValue: String($0)) != nil }) else {
            throw ValidationError("-m takes clean, abort and vanish separated by colons, e.g. clean:abort:vanish")
        }
        if let peer, peer.quit == nil, leavings.contains(.clean) {
            throw ValidationError("--peer \(peer.rawValue) has no clean leaving here: use -m abort:vanish")
        }
    }

    func run() throws {
        let slots = min(concurrency, cycles)
        try common.checkDescriptors(for: slots)
        let server = try common.serverAddress()
        let fleet = try Fleet(
            clients: slots, server: server, sources: common.sourceAddresses(for: server), idPrefix: common.idPrefix,
            intervalMS: 1_000)
        fleet.servers = try common.serverAddresses()
        fleet.tls = try common.tls.context()
        fleet.resume = common.tls.resume
        fleet.auth = try common.fleetAuth()
        fleet.peer = peer
        let summary = try ChurnRun(fleet: fleet, options: self).execute()
        print(common.json ? summary.json : summary.text(), terminator: common.json ? "\n" : "")
    }
}

final class ChurnRun {
    private enum Event: UInt64 {
        case settled = 1
        case timeLimit, wake
    }
    // The timer kind whose payload is an Event.
    private var events: EventLoop.TimerHandlerID!

    private let fleet: Fleet
    private let options: Churn
    private let leavings: [Leaving]
    private var leavingOf: [Leaving]
    private var nextCycle = 0
    private var active = 0
    private var completed: [Leaving: Int] = [:]
    private var vanishRefused = 0
    private var slotsToRestart: [Int] = []
    private var started: UInt64 = 0
    private var finished: UInt64 = 0
    /// This process's CPU time at `started` and `finished`: its cost over the cycles alone, without the
    /// settle wait and the socket count after them.
    private var cpuAtStart: UInt64 = 0
    private var cpuAtFinish: UInt64 = 0
    private var serverStates: [TCPState: Int] = [:]
    private var clientStates: [TCPState: Int] = [:]
    private var countError: String?

    init(fleet: Fleet, options: Churn) {
        self.fleet = fleet
        self.options = options
        leavings = options.leavings
        leavingOf = Array(repeating: .clean, count: fleet.count)
    }

    func execute() throws -> Summary {
        let loop = fleet.loop
        fleet.onIdentified = { [unowned self] slot in leave(slot) }
        fleet.onEnded = { [unowned self] slot, ending, previous in
            var isClean = false
            // A peer answers QUIT with +OK and closes: no BYE line to check.
            if case .closedByServer(let bye) = ending, bye == "bye" || (fleet.peer != nil && bye == nil),
                previous == .identified, leavingOf[slot] == .clean
            {
                isClean = true
            } else if case .closedByServer = ending {
                // A close the cycle did not ask for: the fleet does not count those itself.
                fleet.countFailure()
            }
            done(slot, ok: isClean)
        }
        // Slots restart after the turn, never from inside the fleet's handling of the old connection.
        loop.onTurnEnd = { [unowned self] in
            let slots = slotsToRestart
            slotsToRestart.removeAll(keepingCapacity: true)
            for slot in slots { startCycle(slot) }
        }
        events = loop.addTimerHandler { [unowned self] payload in
            switch Event(rawValue: payload) {
            case .settled:
                countSockets()
                loop.stop()
            case .timeLimit:
                if finished == 0 {
                    fleet.closeAll()
                    nextCycle = options.cycles
                    finishCycles()
                }
            case .wake, nil:
                break
            }
        }
        started = loop.now
        cpuAtStart = Clock.processCPUNanoseconds()
        _ = loop.arm(events, Event.timeLimit.rawValue, at: started + options.timeLimit.nanoseconds)
        for slot in 0..<fleet.count { startCycle(slot) }
        try loop.run()
        return summary()
    }

    private func startCycle(_ slot: Int) {
        guard nextCycle < options.cycles else {
            if active == 0 { finishCycles() }
            return
        }
        let cycle = nextCycle
        nextCycle += 1
        active += 1
        leavingOf[slot] = leavings[cycle % leavings.count]
        fleet.reset(slot)
        let target = churnTarget(cycle: cycle, ids: options.ids, servers: fleet.servers.count)
        fleet.connect(slot, idNumber: target.idNumber, node: target.node)
    }

    private func leave(_ slot: Int) {
        switch leavingOf[slot] {
        case .clean:
            fleet.say(slot, fleet.peer?.quit ?? "BYE\n")
        case .abort:
            fleet.close(slot, .abort)
            done(slot, ok: true)
        case .vanish:
            if !fleet.close(slot, .vanish) { vanishRefused += 1 }
            done(slot, ok: true)
        }
    }

    private func done(_ slot: Int, ok: Bool) {
        active -= 1
        if ok { completed[leavingOf[slot], default: 0] += 1 }
        // The wake-up timer keeps epoll_wait from sleeping while a restart is pending.
        if slotsToRestart.isEmpty { _ = fleet.loop.arm(events, Event.wake.rawValue, at: fleet.loop.now) }
        slotsToRestart.append(slot)
    }

    private func finishCycles() {
        guard finished == 0 else { return }
        finished = fleet.loop.now
        cpuAtFinish = Clock.processCPUNanoseconds()
        let wait = options.settle?.nanoseconds ?? (leavings.contains(.vanish) ? 4_000_000_000 : 1_000_000_000)
        _ = fleet.loop.arm(events, Event.settled.rawValue, at: finished + wait)
    }

    private func countSockets() {
        let ports = Set(fleet.servers.map(\.port))
        do {
            for entry in try tcpSocketTable() {
                if ports.contains(entry.localPort), entry.state != .listen {
                    serverStates[entry.state, default: 0] += 1
                } else if ports.contains(entry.remotePort) {
                    clientStates[entry.state, default: 0] += 1
                }
            }
        } catch {
            countError = "\(error)"
        }
    }

    private func summary() -> Summary {
        var summary = Summary()
        summary.set("mode", "churn")
        summary.set("clients", options.cycles)
        let total = completed.values.reduce(0, +)
        summary.set("connected", total)
        summary.set("failures", fleet.failures)
        summary.set("heartbeats", fleet.pingsSent)
        summary.set("pongs", fleet.pongs)
        summary.set("rtt_us", Summary.percentiles(fleet.rtt))
        summary.set("concurrency", fleet.count)
        summary.set("servers", fleet.servers.count)
        summary.set("mix", options.mix)
        summary.set("cycles", total)
        var byWay = Summary()
        for leaving in Leaving.allCases where leavings.contains(leaving) {
            byWay.set(leaving.rawValue, completed[leaving, default: 0])
        }
        summary.set("cycles_by_way", byWay)
        summary.set("vanish_fell_back_to_abort", vanishRefused)
        let seconds = Double(finished - started) / 1e9
        summary.set("elapsed_s", seconds)
        summary.set("cycles_per_second", seconds > 0 ? Double(total) / seconds : 0)
        summary.set("cpu_s", Double(cpuAtFinish &- cpuAtStart) / 1e9)
        summary.set("server_sockets", Self.states(serverStates))
        summary.set("client_sockets", Self.states(clientStates))
        if let countError { summary.set("socket_count_error", countError) }
        return summary
    }

    private static func states(_ counts: [TCPState: Int]) -> Summary {
        var summary = Summary()
        for state in TCPState.allCases where counts[state, default: 0] > 0 {
            summary.set(state.name, counts[state, default: 0])
        }
        return summary
    }
}
