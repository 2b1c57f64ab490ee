import ControlProtocol
import Logging
import Primitives
import Synchronization

// The tests' log and presence sinks: every record a worker logs, kept with what the world looked like at
// that moment (when a test installs a witness), and every presence event, in order.
@testable import EventLoop
@testable import Posix
@testable import ServerCore

/// What a reap has done by the time it logs its line, seen from outside the reap.
struct Moment {
    var isSlotOpen: Bool
    var owner: Owner?
    /// Whether the wheel still holds a timer (the loop's poll timeout is -1 when it holds none).
    var hasArmedTimer: Bool
    /// The slot's epoll token: its generation moves when the descriptor is unregistered.
    var token: UInt64
    var admitted: Int
    /// What the client end had received, and whether it had seen our FIN, when the line was logged.
    var peerLines: [String]
    var peerSawEnd: Bool
}

final class LogBook: @unchecked Sendable {
    // @unchecked: `witness` is set and called on the test's thread only, the one that runs the worker's
    // turns (the worker logs from inside them); the records themselves are behind the lock.
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var moment: Moment?
    }

    private let state = Mutex<[Record]>([])
    var witness: (() -> Moment)?

    var records: [Record] { state.withLock { $0 } }

    func append(_ event: LogEvent, handlerMetadata: Logger.Metadata) {
        var metadata: [String: String] = [:]
        for (key, value) in handlerMetadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            metadata[key] = "\(value)"
        }
        let record = Record(level: event.level, message: "\(event.message)", metadata: metadata, moment: witness?())
        state.withLock { $0.append(record) }
    }

    /// Records whose message contains `text`.
    func lines(containing text: String) -> [Record] {
        records.filter { $0.message.contains(text) }
    }
}

struct LogBookHandler: LogHandler {
    let book: LogBook
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        book.append(event, handlerMetadata: metadata)
    }
}

final class PresenceLog: Sendable {
    private let events = Mutex<[PresenceEvent]>([])
    private let sizes = Mutex<[Int]>([])
    /// One post of a worker: a loop turn's events.
    func append(_ batch: [PresenceEvent]) {
        events.withLock { $0 += batch }
        sizes.withLock { $0.append(batch.count) }
    }
    var all: [PresenceEvent] { events.withLock { $0 } }
    /// How many events each post carried, in order.
    var batches: [Int] { sizes.withLock { $0 } }
}

extension Rig {
    /// Makes every log line record what `id`'s session at `slot` (and `peer`, its client) look like then.
    func witness(slot: Int, id: String?, peer: Peer, worker index: Int = 0) {
        let worker = workers[index]
        let registry = shared.registry
        let admission = shared.admission
        book.witness = {
            peer.pump()
            return Moment(
                isSlotOpen: worker.sessions.isOpen(slot), owner: id.flatMap(ClientID.init).flatMap(registry.owner(of:)),
                hasArmedTimer: worker.loop.pollTimeout() != -1, token: worker.loop.token(slot),
                admitted: admission.total, peerLines: peer.lines, peerSawEnd: peer.isClosed
            )
        }
    }
}
