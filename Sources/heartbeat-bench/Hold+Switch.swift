// hold through a restart or an upgrade of the daemon: what the switch cost the clients holding on —
// sessions dropped and why, heartbeats never answered, the slowest beat and when it was sent — and,
// with --reconnect, how long the dropped clients took to be back.
import ArgumentParser
import EventLoop
import Posix

struct SwitchOptions: ParsableArguments {
    @Flag(
        name: .long,
        help:
            "Reconnect a dropped client (and retry a refused connect) after a random pause, to time how long the fleet takes to come back."
    )
    var reconnect = false

    @Option(
        name: .long,
        help: ArgumentHelp("The longest pause before a reconnect or a retry (random, from 0).", valueName: "duration"))
    var reconnectSpread = BenchDuration(seconds: 1)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A beat whose round trip takes longer counts as slow; the report gives the first and last.",
            valueName: "duration"))
    var slow = BenchDuration(argument: "100ms")!
}

/// Watches every client of a hold run for what a switch of the daemon would show: each `sent` PING and
/// each answer, each identified session that ends, and each round trip.
final class SwitchWatch {
    private unowned let fleet: Fleet
    private let options: SwitchOptions
    private var retries: EventLoop.TimerHandlerID!
    /// PINGs sent and not answered yet, per client; a session that ends leaves its count unanswered.
    private var outstanding: [UInt32]
    /// Dropped and not identified again yet (--reconnect).
    private var isAway: [Bool]
    private var disconnects = 0
    private var reasons: [String: Int] = [:]
    private var unanswered: UInt64 = 0
    private var slowestMicros: UInt64 = 0
    private var slowestSentMicros: UInt64 = 0
    private var slowBeats = 0
    private var firstSlowSentMicros: UInt64 = 0
    private var lastSlowSentMicros: UInt64 = 0
    private var firstDrop: UInt64 = 0
    private var lastReturn: UInt64 = 0
    private var returned = 0
    private var attempts = 0

    init(fleet: Fleet, options: SwitchOptions) {
        self.fleet = fleet
        self.options = options
        outstanding = Array(repeating: 0, count: fleet.count)
        isAway = Array(repeating: false, count: fleet.count)
        retries = fleet.loop.addTimerHandler { [unowned self] client in reconnect(Int(client)) }
        fleet.onPongs = { [unowned self] client, count in
            outstanding[client] -= min(outstanding[client], UInt32(count))
        }
        fleet.onRoundTrip = { [unowned self] _, micros, sentMicros in roundTrip(micros, sentMicros: sentMicros) }
    }

    /// A PING went out to `client`.
    func sent(_ client: Int) { outstanding[client] += 1 }

    /// `client` got OK. True if it was a dropped client coming back (not one of the ramp's).
    func identified(_ client: Int) -> Bool {
        guard isAway[client] else { return false }
        isAway[client] = false
        returned += 1
        lastReturn = fleet.loop.now
        return true
    }

    /// `client`'s connection ended. True if it was a reconnect attempt (not one of the ramp's).
    func ended(_ client: Int, _ ending: Fleet.Ending, previous: Fleet.Phase) -> Bool {
        if previous == .identified {
            disconnects += 1
            reasons[Self.name(ending), default: 0] += 1
            unanswered += UInt64(outstanding[client])
            outstanding[client] = 0
            if firstDrop == 0 { firstDrop = fleet.loop.now }
            guard options.reconnect else { return false }
            isAway[client] = true
        } else if !isAway[client] {
            return false
        }
        let pause = UInt64.random(in: 0...options.reconnectSpread.nanoseconds)
        _ = fleet.loop.arm(retries, UInt64(client), at: fleet.loop.now + pause)
        return true
    }

    private func reconnect(_ client: Int) {
        guard isAway[client], fleet.phase[client] == .closed else { return }
        attempts += 1
        fleet.reset(client)
        fleet.connect(client, idNumber: client)
    }

    private func roundTrip(_ micros: UInt64, sentMicros: UInt64) {
        if micros > slowestMicros {
            slowestMicros = micros
            slowestSentMicros = sentMicros
        }
        guard micros * 1_000 > options.slow.nanoseconds else { return }
        slowBeats += 1
        if firstSlowSentMicros == 0 || sentMicros < firstSlowSentMicros { firstSlowSentMicros = sentMicros }
        lastSlowSentMicros = max(lastSlowSentMicros, sentMicros)
    }

    /// The report; instants are seconds after `origin` (the window's start, monotonic nanoseconds).
    func summary(origin: UInt64) -> Summary {
        // Still waiting when the run ended (the bench has closed every client by now): never answered.
        let stillOutstanding = outstanding.reduce(UInt64(0)) { $0 + UInt64($1) }
        let seconds = { (micros: UInt64) in (Double(micros) * 1_000 - Double(origin)) / 1e9 }
        let wallNow = Clock.wallMilliseconds()
        let monotonicNow = Clock.monotonicNanoseconds()
        var summary = Summary()
        summary.set("disconnects", disconnects)
        var byReason = Summary()
        for (reason, count) in reasons.sorted(by: { $0.key < $1.key }) { byReason.set(reason, count) }
        summary.set("disconnect_reasons", byReason)
        summary.set("unanswered", unanswered + stillOutstanding)
        summary.set("max_rtt_ms", Double(slowestMicros) / 1_000)
        summary.set("max_rtt_sent_s", slowestMicros == 0 ? 0 : seconds(slowestSentMicros))
        // The wall clock of that PING, to set beside the time a script restarted the daemon.
        let age = (monotonicNow / 1_000 - min(slowestSentMicros, monotonicNow / 1_000)) / 1_000
        summary.set("max_rtt_sent_unix_ms", slowestMicros == 0 ? 0 : wallNow - min(age, wallNow))
        summary.set("slow_ms", options.slow.milliseconds)
        summary.set("slow_beats", slowBeats)
        summary.set("slow_first_sent_s", slowBeats == 0 ? 0 : seconds(firstSlowSentMicros))
        summary.set("slow_last_sent_s", slowBeats == 0 ? 0 : seconds(lastSlowSentMicros))
        if options.reconnect {
            summary.set("reconnected", returned)
            summary.set("reconnect_attempts", attempts)
            summary.set("still_away", isAway.reduce(0) { $0 + ($1 ? 1 : 0) })
            summary.set("back_online_s", returned == 0 ? 0 : Double(lastReturn - firstDrop) / 1e9)
        }
        return summary
    }

    private static func name(_ ending: Fleet.Ending) -> String {
        switch ending {
        case .connectFailed: "connect-failed"
        case .refused(let code): "err-\(code)"
        case .closedByServer(let bye): bye.map { "bye-\($0)" } ?? "eof"
        case .socketError(let errno): "error-\(errno.name)"
        case .sendBlocked: "send-blocked"
        }
    }
}
