// The control socket's `watch` fan-out: presence events from the workers, held back by the feed (offline
// grace, gaps in seq), go to every watcher as JSON lines. A watcher that falls `backlog` bytes behind is
// told `too-slow` and cut off, so no reader can hold up the loop or grow without bound.
import BufferedIO
import ControlProtocol
import EventLoop
import Logging
import Posix

final class ControlWatchers {
    /// A watcher with more unsent bytes than this is disconnected with `too-slow`.
    static let backlog = 64 * 1_024

    private let loop: EventLoop
    private let logger: Logger
    private(set) var feed: PresenceFeed
    private var watchers: [Int: ControlConnection] = [:]
    private var timer: EventLoop.TimerHandlerID!
    private var armedAt: UInt64?
    /// The `restarted` event of this process's takeover, and when it was shown: a watcher that connects
    /// within `restartReplay` of it (one reconnecting across the switch) is shown it first.
    private var takeover: (event: PresenceEvent, shown: UInt64)?
    static let restartReplay: UInt64 = 10_000_000_000

    init(loop: EventLoop, grace: UInt64, logger: Logger) {
        self.loop = loop
        self.logger = logger
        feed = PresenceFeed(grace: grace)
        timer = loop.addTimerHandler { [unowned self] _ in self.expired() }
    }

    var count: Int { watchers.count }

    /// Told when events start to matter (true) and stop (false), so workers post them only while a watcher
    /// reads them or `offline_grace` holds them back (status counts those): Server.wantPresence. Returns
    /// the latest seq handed out. Nil: events are always posted (a cluster node, whose link needs each one).
    var onWatched: ((Bool) -> UInt64)?
    private var isWanted = true

    /// A reload changed `[events] offline_grace`: events from now on are held for the new time.
    func apply(grace: UInt64) {
        feed.grace = grace
        updateWanted()
    }

    /// Tells `onWatched` when whether events matter changed. Nothing was posted while they did not: the
    /// feed then starts after the latest seq, not at a gap that would never fill.
    func updateWanted() {
        guard let onWatched else { return }
        let wanted = !watchers.isEmpty || feed.grace > 0
        guard wanted != isWanted else { return }
        isWanted = wanted
        let seq = onWatched(wanted)
        if wanted { feed.resume(after: seq) }
    }

    /// `connection` asked `watch`: from now on it gets every event, within `backlog`.
    func add(_ connection: ControlConnection) {
        connection.isWatching = true
        connection.input = []
        watchers[connection.key.slot] = connection
        updateWanted()
        connection.io.outputLimit = Self.backlog
        connection.io.onOverflow = { [unowned self, unowned connection] limit in
            let peer = connection.peer
            logger.warning(
                "control: watcher uid \(peer.uid) (pid \(peer.pid)) fell more than \(limit) bytes behind; disconnected")
            remove(connection)
            return connection.lastLine(.tooSlow(limit: limit))
        }
        let grace = Int64(clamping: feed.grace / 1_000_000)
        connection.append(
            JSONObject(["ok": .bool(true), "watching": .bool(true), "offline_grace_ms": .integer(grace)]))
        if let takeover, loop.now &- takeover.shown < Self.restartReplay { connection.append(takeover.event.json) }
    }

    /// The connection closed; a later one on its descriptor number is not this watcher.
    func remove(_ connection: ControlConnection) {
        guard watchers[connection.key.slot] === connection else { return }
        watchers[connection.key.slot] = nil
        updateWanted()
    }

    func resume(after seq: UInt64) {
        feed.resume(after: seq)
    }

    /// An event from a worker: shown now, or held by the feed until its grace or gap runs out.
    func receive(_ event: PresenceEvent) {
        // A cluster node posts every event, watched or not: the usual one (in order, nobody watching,
        // nothing held back) is only counted, without the feed's array of one.
        if watchers.isEmpty, event.kind != .restarted, feed.takeInOrder(event) { return }
        publish(feed.receive(event, now: loop.now))
        rearm()
    }

    /// The daemon is stopping: show every event still held back, tell each watcher, close them.
    func close() {
        publish(feed.flush())
        for connection in Array(watchers.values) {
            connection.io.finish(last: connection.lastLine(.shuttingDown))
            connection.io.close(.closed)
        }
        watchers = [:]
    }

    /// Appends the events to every watcher; one that falls `backlog` bytes behind is cut off (`onOverflow`).
    private func publish(_ events: [PresenceEvent]) {
        if let restarted = events.last(where: { $0.kind == .restarted }) { takeover = (restarted, loop.now) }
        guard !events.isEmpty, !watchers.isEmpty else { return }
        var lines: [UInt8] = []
        for event in events { event.json.appendLine(to: &lines) }
        for connection in Array(watchers.values) {
            guard connection.io.append(lines) else { continue }
            connection.io.flush()
        }
    }

    /// One timer for the feed's next deadline: a held offline falling due, a gap in seq timing out. A
    /// later deadline than the one armed waits for that timer to re-arm.
    private func rearm() {
        guard let next = feed.nextDeadline else { return }
        if let armed = armedAt, armed <= next { return }
        armedAt = next
        _ = loop.arm(timer, at: next)
    }

    private func expired() {
        armedAt = nil
        publish(feed.expire(now: loop.now))
        rearm()
    }
}
