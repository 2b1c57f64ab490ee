// The server: binds (or adopts) the listeners, starts one worker thread per loop, and is how the
// executable steers them (reload, drain) and reads them (snapshot, watchdog liveness).
import ControlProtocol
import EventLoop
import Handoff
import Logging
import Posix
import Primitives
import Synchronization

/// What every worker shares: id ownership, admission counts, and each other's mailboxes.
final class Shared: Sendable {
    let registry = Registry()
    let admission = Admission()
    /// Whether anyone reads presence events (Server.wantPresence); when not, workers do not build them.
    let isPresenceWanted = Atomic<Bool>(true)
    /// One table for all workers: SO_REUSEPORT spreads a network's connections over them, so a table
    /// per worker would let each network in `workers` times over (docs/design.md, "Connect rate").
    let connectBuckets = Locked(ConnectBuckets(capacity: ConnectBuckets.serverCapacity))
    let mailboxes: [Mailbox<WorkerMessage>]
    /// A takeover's restore, worker by worker (`restored`).
    let restoring: Locked<RestoreTiming>
    init(mailboxes: [Mailbox<WorkerMessage>]) {
        self.mailboxes = mailboxes
        restoring = Locked(RestoreTiming(pending: mailboxes.count))
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(address: String, SystemError)
    case cannotAdopt(descriptor: Int32, SystemError)
    case cannotStart(SystemError)

    public var description: String {
        switch self {
        case .cannotListen(let address, let error): "cannot listen on \(address): \(error)"
        case .cannotAdopt(let descriptor, let error): "cannot use passed socket \(descriptor): \(error)"
        case .cannotStart(let error): "cannot start a worker: \(error)"
        }
    }
}

public final class Server: Sendable {
    /// The addresses clients can reach, as bound (the real port when the config said 0).
    public let addresses: [String]
    public let workerCount: Int
    let shared: Shared
    private let stats: [WorkerStats]
    /// The workers until `start` takes them, once, on the caller's thread. A `Mutex`, not Posix' `Locked`
    /// (which every other lock here is, so ThreadSanitizer can follow it): a Worker is not Sendable.
    private let pending: Mutex<[Worker]>
    private let threads = Locked<[Thread.Joinable]>([])
    let sharedListeners: [Listener]
    /// What was taken over from a predecessor; nil on a clean start.
    public let takeover: TakeoverCounts?

    /// The TLS listeners' addresses, as bound; empty without TLS.
    public let tlsAddresses: [String]
    /// The backlog the kernel applies to the listeners this process bound (`backlog` capped at
    /// net.core.somaxconn); nil when every client listener came from systemd, which set its own (`Backlog=`).
    public let backlogInForce: Int?

    /// Binds every `listen` address once per each of `workers` workers (SO_REUSEPORT), or adopts
    /// `activated` sockets (socket activation) instead. `tlsListen` addresses are bound the same way in
    /// either case (systemd passes plain listeners only), and speak TLS with `settings.tls`. Listeners a
    /// predecessor handed over (`inheritance`, a restart or upgrade) are kept instead of bound when they are
    /// exactly the addresses wanted. Nothing is accepted until `start`. `tick` is the timer wheel's, in
    /// nanoseconds; a port of 0 lets the kernel pick (the same for every worker). A plain listener whose
    /// address (as given in `listen` or `tlsListen`, or a passed socket's own) is in `proxied` expects a PROXY
    /// header on every connection; on a TLS listener the header comes first, in plain text (Worker+Proxy).
    /// `backlog` is listen(2)'s, for the listeners bound here and those kept from a predecessor; a passed
    /// socket keeps systemd's.
    public init(
        settings: Settings, listen: [SocketAddress], tlsListen: [SocketAddress] = [], proxied: [SocketAddress] = [],
        backlog: Int32 = 4096, workers count: Int, tick: UInt64, activated: [Int32], logger: Logger,
        inheritance: Inheritance? = nil
    ) throws(ServerError) {
        var inherited = Takeover(inheritance, workers: count, now: Clock.monotonicNanoseconds())
        var adopted: [Listener] = []
        let keptShared = inherited.listeners[nil]?.map(\.descriptor.rawValue) ?? []
        for descriptor in activated + keptShared {
            do {
                let socket = try Socket(adoptingListener: descriptor)
                try socket.setKeepalive(settings.keepalive)
                try socket.setSendBufferSize(Worker.sendBufferBytes)
                let address = try socket.localAddress()
                adopted.append(
                    Listener(
                        socket: socket, address: address, isShared: true, expectsProxyHeader: proxied.contains(address))
                )
            } catch {
                throw .cannotAdopt(descriptor: descriptor, error)
            }
        }
        var perWorker: [[Listener]] = []
        var tlsPerWorker: [[Listener]] = []
        for _ in 0..<count {
            // This worker's own listeners: the plain ones unless systemd passed them, then the TLS ones.
            let plain = adopted.isEmpty ? listen : []
            if let kept = inherited.takeListeners(for: perWorker.count, wanted: plain + tlsListen) {
                var listeners: [Listener] = []
                for (position, (descriptor, address)) in kept.enumerated() {
                    guard let socket = try? Socket(adoptingListener: descriptor.rawValue) else { continue }
                    // The predecessor's backlog may not be this configuration's.
                    try? socket.setBacklog(backlog)
                    let isTLS = position >= plain.count
                    listeners.append(
                        Listener(
                            socket: socket, address: address, isShared: false, kind: isTLS ? .tls : .plain,
                            expectsProxyHeader: proxied.contains(
                                isTLS ? tlsListen[position - plain.count] : plain[position])))
                }
                perWorker.append(adopted + listeners.filter { $0.kind == .plain })
                tlsPerWorker.append(listeners.filter { $0.kind == .tls })
                continue
            }
            tlsPerWorker.append(
                try Self.bind(
                    tlsListen, kind: .tls, like: tlsPerWorker.first, proxied: proxied, backlog: backlog,
                    settings: settings, alone: inheritance == nil))
            perWorker.append(
                adopted.isEmpty
                    ? try Self.bind(
                        listen, kind: .plain, like: perWorker.first, proxied: proxied, backlog: backlog,
                        settings: settings, alone: inheritance == nil)
                    : adopted)
        }
        inherited.closeUnused()
        addresses = (perWorker.first ?? []).map { "\($0.address)" }
        tlsAddresses = (tlsPerWorker.first ?? []).map { "\($0.address)" }
        sharedListeners = adopted
        let own = (perWorker.first ?? []).filter { !$0.isShared } + (tlsPerWorker.first ?? [])
        backlogInForce = own.lazy.compactMap { try? $0.socket?.acceptQueue().limit }.first
        for index in 0..<count { perWorker[index] += tlsPerWorker[index] }

        var mailboxes: [Mailbox<WorkerMessage>] = []
        var workers: [Worker] = []
        do {
            for _ in 0..<count { mailboxes.append(try Mailbox<WorkerMessage>()) }
            let shared = Shared(mailboxes: mailboxes)
            for index in 0..<count {
                workers.append(
                    try Worker(
                        index: index, settings: settings, listeners: perWorker[index], shared: shared, tick: tick,
                        mailbox: mailboxes[index], logger: logger))
            }
            self.shared = shared
            shared.registry.continueSeq(after: inherited.lastSeq)
            for (index, worker) in workers.enumerated() {
                worker.handoff.inherited = inherited.sessions[index]
                if index < inherited.nextSerials.count { worker.nextSerial = inherited.nextSerials[index] }
            }
        } catch {
            throw .cannotStart(error)
        }
        workerCount = count
        takeover = inheritance == nil ? nil : inherited.counts
        stats = workers.map(\.stats)
        pending = Mutex(workers)
    }

    /// Whether workers build and post presence events (on by default). With nobody reading them (no watcher,
    /// no cluster), a connect-and-leave costs no event and no cross-thread wake-up. Returns the seq of the
    /// latest event handed out, read after the switch: every later event is posted if `wanted`, so a
    /// reader that skips to just after it (PresenceFeed.resume) sees no gap.
    @discardableResult
    public func wantPresence(_ wanted: Bool) -> UInt64 {
        shared.isPresenceWanted.store(wanted, ordering: .sequentiallyConsistent)
        // The registry's lock orders this read after the store: a worker that hands out a later seq
        // takes the same lock, so it sees the switch before it decides to post.
        return shared.registry.lastSeq
    }

    /// Starts every worker on its own thread. `onStopped` runs on a worker's thread when it has drained;
    /// `onPresence` runs on a worker's thread with a loop turn's online, offline and replaced events, in
    /// the order of their seq (each worker's; another worker's may interleave). After a takeover,
    /// `onRestored` runs once, on the thread of the worker that restored its handed-over sessions last.
    public func start(
        onStopped: @escaping @Sendable (_ worker: Int) -> Void,
        onFailure: @escaping @Sendable (_ worker: Int, _ error: SystemError) -> Void,
        onPresence: @escaping @Sendable ([PresenceEvent]) -> Void = { _ in },
        onRestored: @escaping @Sendable (RestoreTiming) -> Void = { _ in }
    ) throws(ServerError) {
        let workers = pending.withLock { workers in
            defer { workers = [] }
            return workers
        }
        if let takeover { announceTakeover(takeover, to: onPresence) }
        for worker in workers {
            worker.onPresence = onPresence
            if takeover != nil { worker.handoff.onRestored = onRestored }
            let handOver = HandOver(worker)
            do {
                let thread = try Thread.start(name: "hb-worker-\(worker.index)") {
                    let worker = handOver.worker
                    do throws(SystemError) { try worker.run() } catch { onFailure(worker.index, error) }
                    onStopped(worker.index)
                }
                threads.withLock { $0.append(thread) }
            } catch {
                throw .cannotStart(error)
            }
        }
    }

    /// A reload: the live settings go to every worker.
    public func apply(_ settings: Settings) {
        for mailbox in shared.mailboxes { mailbox.post(.settings(settings)) }
    }

    /// Another node took `id` over (the cluster link heard so): the session whose `online` event had
    /// `onlineSeq` ends with `BYE replaced` and a `replaced` event, not `offline`. A newer local session
    /// of the same id is left alone.
    public func evict(id: String, onlineSeq: UInt64) {
        guard let id = ClientID(id), let owner = shared.registry.owner(of: id, claimedAt: onlineSeq) else { return }
        shared.mailboxes[owner.worker].post(.replace(slot: owner.slot, serial: owner.serial))
    }

    /// SIGTERM: every worker stops accepting and drains.
    public func drain() {
        for mailbox in shared.mailboxes { mailbox.post(.drain) }
    }

    /// Waits for every worker thread to end, then closes passed listeners.
    public func join() {
        for thread in threads.withLock({ $0 }) { thread.join() }
        for listener in sharedListeners {
            if let socket = listener.socket.take() { socket.close() }
        }
    }

    /// The listeners every worker shares (socket activation), kept open across exec, as hand-off records.
    func sharedHandoffListeners() -> [HandoffState.Listener] {
        sharedListeners.compactMap { listener in
            guard (try? listener.socket?.keepAcrossExec()) != nil else { return nil }
            return HandoffState.Listener(
                descriptor: listener.id.rawValue, worker: nil, address: HandoffAddress(listener.address))
        }
    }

    /// Wakes every worker for one turn; `oldestTurn` then shows whether each one did.
    public func pingWorkers() {
        for mailbox in shared.mailboxes { mailbox.post(.ping) }
    }

    public func snapshot() -> Snapshot {
        var snapshot = Snapshot()
        for stat in stats { stat.add(to: &snapshot) }
        return snapshot
    }

    /// The monotonic instant by which every worker has finished a loop turn (the oldest of their last turns).
    public func oldestTurn() -> UInt64 {
        stats.map { $0.lastTurn.load(ordering: .relaxed) }.min() ?? 0
    }
}

extension Server {
    /// One worker's listeners for `addresses`. Port 0: the first worker lets the kernel pick, the
    /// others (`like` is the first worker's) join that same port.
    /// `alone`: no predecessor's listener is open here, so a socket already listening on a wanted port is
    /// another process's, and the first worker's bind fails rather than join its SO_REUSEPORT group.
    fileprivate static func bind(
        _ addresses: [SocketAddress], kind: Listener.Kind, like first: [Listener]?, proxied: [SocketAddress],
        backlog: Int32, settings: Settings, alone: Bool
    ) throws(ServerError) -> [Listener] {
        var listeners: [Listener] = []
        for (position, wanted) in addresses.enumerated() {
            var address = wanted
            if address.port == 0, let first { address.port = first[position].address.port }
            do {
                if alone, first == nil, address.port != 0 { try Socket.checkNoneListens(on: address) }
                let socket = try Socket.listen(on: address, reusePort: true, backlog: backlog)
                try socket.setKeepalive(settings.keepalive)
                try socket.setSendBufferSize(Worker.sendBufferBytes)
                let bound = try socket.localAddress()
                listeners.append(
                    Listener(
                        socket: socket, address: bound, isShared: false, kind: kind,
                        expectsProxyHeader: proxied.contains(wanted)))
            } catch {
                throw .cannotListen(address: wanted.description, error)
            }
        }
        return listeners
    }
}

/// Moves a worker to the thread that will own it.
private final class HandOver: @unchecked Sendable {
    // @unchecked: the worker is handed over once and from then on touched only by its own thread.
    let worker: Worker
    init(_ worker: Worker) { self.worker = worker }
}
