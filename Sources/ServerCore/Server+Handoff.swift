// Restart and upgrade, the server's part: gather every worker's frozen sessions into one HandoffState
// (and give them back if the upgrade failed); on the successor's side, sort the descriptors it
// inherited against the state — each socket to its record's worker, orphans told `BYE restart` — and
// announce one `restarted` presence event instead of an offline and an online per client.
import ControlProtocol
import Handoff
import Logging
import Posix

/// What a predecessor left: its state (nil when there was none or it was refused, `problem` says why)
/// and the descriptors that came with it — sessions and listeners, not yet owned by anything here.
public struct Inheritance: Sendable {
    public var state: HandoffState?
    public var problem: HandoffError?
    public var descriptors: [DescriptorID]
    /// Whether the state's sessions are still under the numbers they were recorded with (an `execve` keeps
    /// them): then `descriptors` leaves those numbers out, and each is checked where it is. False for
    /// sockets that came back from systemd under new numbers: those are in `descriptors`.
    public var numbersKept: Bool
    /// Sessions' sockets in the order of the state's records (carriers keep the order they were loaded
    /// in): each is checked against the record at its position first, and matched by its addresses only
    /// from the first one that is not that record's connection.
    public var carried: [DescriptorID]
    /// The peer of each `carried` socket, read while the state was decoded (nil: not a connected socket);
    /// empty when not read, and then `Takeover` asks each socket itself.
    public var carriedPeers: [SocketAddress?] = []
    /// The predecessor's old epolls (still holding the sessions' sockets), closed in the background once
    /// the takeover is done.
    public var retired: [DescriptorID] = []

    public init(
        state: HandoffState?, problem: HandoffError?, descriptors: [DescriptorID], numbersKept: Bool = false,
        carried: [DescriptorID] = []
    ) {
        self.state = state
        self.problem = problem
        self.descriptors = descriptors
        self.numbersKept = numbersKept
        self.carried = carried
    }
}

/// How the taking over went, for the log line and the `restarted` event.
public struct TakeoverCounts: Sendable, Equatable {
    /// Sessions restored with their state.
    public var restored = 0
    /// Connections without a record (or with a refused state): told `BYE restart` and half-closed.
    public var orphaned = 0
    /// Records whose connection did not come back (the peer closed meanwhile, or the store dropped it).
    public var lost = 0
    /// Descriptors that were no sockets of ours: closed.
    public var foreign = 0
    /// Listening sockets kept (no refused connections during the switch).
    public var listeners = 0
    /// How long the switch took: from the predecessor's save to now, in nanoseconds.
    public var gap: UInt64 = 0
    /// How long sorting the inherited descriptors against the state took, in nanoseconds.
    public var matching: UInt64 = 0
}

/// The inherited descriptors sorted out: sockets per worker with their records, listeners by worker.
struct Takeover {
    var sessions: [[(descriptor: DescriptorID, record: HandoffState.Session)]]
    var listeners: [Int?: [(descriptor: DescriptorID, address: SocketAddress)]] = [:]
    var counts = TakeoverCounts()
    var lastSeq: UInt64 = 0
    var nextSerials: [UInt32] = []

    init(_ inheritance: Inheritance?, workers: Int, now: UInt64) {
        sessions = Array(repeating: [], count: workers)
        guard let inheritance else { return }
        defer { counts.matching = Clock.monotonicNanoseconds() &- now }
        let state = inheritance.state
        lastSeq = state?.lastSeq ?? 0
        nextSerials = state?.nextSerials ?? []
        counts.gap = state.map { now &- $0.savedAt } ?? 0
        var unmatched = state?.sessions ?? []
        var descriptors = inheritance.descriptors
        if inheritance.numbersKept {
            // Each record's socket where the record says, one getpeername as the check; a number that is
            // something else now joins the unnamed descriptors, and its record is looked for among them.
            unmatched = []
            for record in state?.sessions ?? [] {
                let descriptor = DescriptorID(number: record.descriptor)
                if Descriptors.isConnection(descriptor, to: SocketAddress(record.peer)) {
                    Descriptors.closeOnExec(descriptor)
                    counts.restored += 1
                    sessions[record.worker % workers].append((descriptor, record))
                    continue
                }
                unmatched.append(record)
                if Descriptors.isInheritedSocket(descriptor) { descriptors.append(descriptor) }
            }
        } else if let records = state?.sessions, !inheritance.carried.isEmpty {
            // Position by position, one getpeername each (close-on-exec already: MSG_CMSG_CLOEXEC), or the
            // peers read meanwhile.
            let carried = inheritance.carried
            let peers = inheritance.carriedPeers.count == carried.count ? inheritance.carriedPeers : nil
            var position = 0
            while position < min(carried.count, records.count),
                peers.map({ $0[position] == SocketAddress(records[position].peer) })
                    ?? Descriptors.isConnection(carried[position], to: SocketAddress(records[position].peer))
            {
                counts.restored += 1
                sessions[records[position].worker % workers].append((carried[position], records[position]))
                position += 1
            }
            unmatched = Array(records[position...])
            descriptors += carried[position...]
        }
        var records: [HandoffConnection: HandoffState.Session] = [:]
        records.reserveCapacity(unmatched.count)
        for record in unmatched {
            records[HandoffConnection(peer: record.peer, local: record.local)] = record
        }
        var listenerRecords: [HandoffAddress: HandoffState.Listener] = [:]
        var listenerOrder: [HandoffAddress: Int] = [:]
        for (position, listener) in (state?.listeners ?? []).enumerated() {
            listenerRecords[listener.address] = listener
            listenerOrder[listener.address] = position
        }
        for descriptor in descriptors {
            // Sessions first, thousands of them against a listener or two: two system calls name the
            // connection, and one more makes a match close-on-exec (carriers deliver them so already).
            // A record without a local address is the only one with its peer (`Server.recordingLocals`).
            if let connection = Descriptors.connection(descriptor),
                let record = records.removeValue(
                    forKey: HandoffConnection(peer: HandoffAddress(connection.peer), local: .unrecorded))
                    ?? records.removeValue(
                        forKey: HandoffConnection(
                            peer: HandoffAddress(connection.peer), local: HandoffAddress(connection.local)))
            {
                Descriptors.closeOnExec(descriptor)
                counts.restored += 1
                sessions[record.worker % workers].append((descriptor, record))
                continue
            }
            if let socket = try? Socket(adoptingConnected: descriptor.rawValue) {
                counts.orphaned += 1
                Self.sendRestart(socket)
                continue
            }
            if let listener = try? Socket(adoptingListener: descriptor.rawValue) {
                let address = try? listener.localAddress()
                if let address, let record = listenerRecords.removeValue(forKey: HandoffAddress(address)) {
                    let worker = record.worker.map { $0 % workers }
                    listeners[worker, default: []].append((listener.relinquish(), address))
                } else {
                    counts.foreign += 1
                    listener.close()
                }
                continue
            }
            counts.foreign += 1
            Descriptors.close(descriptor)
        }
        // In the order the predecessor recorded them (a worker's plain listeners, then its TLS ones), which
        // `takeListeners` matches against, whatever order the descriptors came back in.
        for worker in listeners.keys {
            listeners[worker]?.sort {
                listenerOrder[HandoffAddress($0.address), default: 0]
                    < listenerOrder[HandoffAddress($1.address), default: 0]
            }
        }
        counts.lost = records.count
        counts.listeners = listeners.values.reduce(0) { $0 + $1.count }
    }

    /// An orphan: `BYE restart`, our FIN, close. Best effort, like any farewell.
    static func sendRestart(_ socket: consuming Socket) {
        _ = Array("BYE restart\n".utf8).withUnsafeBytes { try? socket.send($0) }
        socket.shutdownWrite()
        socket.close()
    }

    /// The kept listeners for `worker` if they are exactly `wanted` (port 0 matches any port), else nil.
    mutating func takeListeners(for worker: Int, wanted: [SocketAddress]) -> [(DescriptorID, SocketAddress)]? {
        guard let kept = listeners[worker], kept.count == wanted.count,
            zip(kept, wanted).allSatisfy({ $0.address.host == $1.host && ($1.port == 0 || $0.address.port == $1.port) })
        else { return nil }
        listeners[worker] = nil
        return kept.map { ($0.descriptor, $0.address) }
    }

    /// Listeners nobody took (the configuration changed): closed, so the new ones are the only ones.
    mutating func closeUnused() {
        for (worker, kept) in listeners where worker != nil {
            for listener in kept { Descriptors.close(listener.descriptor) }
            counts.listeners -= kept.count
        }
        listeners = listeners.filter { $0.key == nil }
    }
}

extension Server {
    /// Restart or upgrade: every worker stops accepting, ends (paced) what cannot be handed over, and
    /// freezes the rest; `completion` gets the whole state and the workers' old epolls (still holding the
    /// frozen sessions, for the caller to carry or close), on the thread of the worker that finished last.
    /// `acrossExec`: the frozen sockets are made to stay open across an `execve` (an upgrade); a stop
    /// puts them in flight instead, which needs no `fcntl` per session.
    public func handOff(
        pacing: Pacing, acrossExec: Bool = true,
        completion: @escaping @Sendable (HandoffState, [DescriptorID]) -> Void
    ) {
        let parts = Locked<[WorkerHandoff]>([])
        let count = shared.mailboxes.count
        let registry = shared.registry
        let shared = sharedHandoffListeners()
        for mailbox in self.shared.mailboxes {
            mailbox.post(
                .handOff(
                    pacing, acrossExec: acrossExec,
                    reply: { part in
                        let all = parts.withLock { parts in
                            parts.append(part)
                            return parts.count == count ? parts : nil
                        }
                        guard let all = all?.sorted(by: { $0.worker < $1.worker }) else { return }
                        completion(
                            HandoffState(
                                savedAt: Clock.monotonicNanoseconds(), lastSeq: registry.lastSeq,
                                nextSerials: all.map(\.nextSerial), listeners: all.flatMap(\.listeners) + shared,
                                sessions: Self.recordingLocals(all.flatMap(\.sessions))), all.compactMap(\.retired))
                    }))
        }
    }

    /// The workers record no local address (a `getsockname` each); only records whose peer another
    /// record has need one, for the successor to tell the connections apart (a client that reached two of
    /// our addresses from one port: rare). One whose socket cannot say is left out: the successor tells
    /// that connection `BYE restart`.
    static func recordingLocals(_ sessions: [HandoffState.Session]) -> [HandoffState.Session] {
        var first: [HandoffAddress: Int] = [:]
        first.reserveCapacity(sessions.count)
        var shared: Set<Int> = []
        for (position, record) in sessions.enumerated() {
            if let earlier = first.updateValue(position, forKey: record.peer) {
                shared.insert(earlier)
                shared.insert(position)
            }
        }
        guard !shared.isEmpty else { return sessions }
        var recorded = sessions
        var unknown: Set<Int> = []
        for position in shared {
            if let connection = Descriptors.connection(DescriptorID(number: sessions[position].descriptor)) {
                recorded[position].local = HandoffAddress(connection.local)
            } else {
                unknown.insert(position)
            }
        }
        return unknown.isEmpty ? recorded : recorded.enumerated().filter { !unknown.contains($0.offset) }.map(\.element)
    }

    /// A frozen session that cannot go to the successor after all: `BYE restart`, our FIN, close.
    public static func endWithRestart(_ descriptor: DescriptorID) {
        guard let socket = try? Socket(adoptingConnected: descriptor.rawValue) else {
            return Descriptors.close(descriptor)
        }
        Takeover.sendRestart(socket)
    }

    /// The upgrade failed before the exec: every worker serves its frozen sessions again.
    public func resumeAfterHandOff() {
        for mailbox in shared.mailboxes { mailbox.post(.resume) }
    }

    /// The one presence event of a takeover: seq continues from the predecessor's, with the counts.
    func announceTakeover(_ counts: TakeoverCounts, to onPresence: @Sendable ([PresenceEvent]) -> Void) {
        var event = PresenceEvent(
            seq: shared.registry.nextSeq(), kind: .restarted, timeMS: Clock.wallMilliseconds(), id: "", peer: "",
            worker: 0, reason: nil, durationMS: counts.gap / 1_000_000)
        event.restart = PresenceEvent.Restart(
            restored: counts.restored, orphaned: counts.orphaned, lost: counts.lost)
        onPresence([event])
    }
}
