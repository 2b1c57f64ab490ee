// What a predecessor left this process: from `heartbeatctl upgrade` (an `execve`: the descriptors are
// still open, HEARTBEATD_HANDOFF names the state memfd) or from systemd's fd store (named descriptors
// in LISTEN_FDS, the sessions in flight in carriers). Read first thing at start, before this process
// opens descriptors of its own.
import Handoff
import Logging
import Posix
import ServerCore
import SystemdEdge

enum Succession {
    /// The environment variable an upgrading process sets for its successor: the state memfd's number.
    static let environmentKey = "HEARTBEATD_HANDOFF"
    /// The predecessor's old epolls, comma-separated numbers: closed in the background after the takeover.
    static let retiredKey = "HEARTBEATD_RETIRED"
    /// The largest state a successor reads: ~100 B per session, so far beyond any descriptor limit.
    static let stateLimit = 1 << 30
    /// Descriptors kept free for this process's own use when sessions come in flight: per worker an
    /// epoll, an eventfd and a timerfd, the listeners, the control socket and its clients, metrics.
    static let reserve = 256

    /// The predecessor's state and descriptors (nil on a clean start), and a socket unit's listeners.
    static func inherit(
        descriptorLimit: Int, timeline: inout StartTimeline, logger: Logger
    ) throws -> (inheritance: Inheritance?, activated: [Int32]) {
        defer { timeline.decoded = StartTimeline.now() }
        if let value = environment(environmentKey) {
            timeline.passed = StartTimeline.now()
            Program.unsetEnvironment(environmentKey)
            guard let number = Int32(value) else {
                return (Inheritance(state: nil, problem: .missing, descriptors: []), [])
            }
            // The state first: the sockets it names are checked where they are (`Takeover`), so the scan
            // spends no system call on them, only on whatever else was left open.
            var inheritance = decode(DescriptorID(number: number), descriptors: [])
            inheritance.retired = retired()
            let named = Set((inheritance.state?.sessions ?? []).map(\.descriptor))
            inheritance.descriptors = Descriptors.inheritedSockets(from: 3, skipping: named)
            inheritance.numbersKept = inheritance.state != nil
            return (inheritance, [])
        }
        // The fork is systemd's (an exec keeps the old process's, so an upgrade's line starts at the exec).
        timeline.forked = Clock.forkedNanoseconds()
        let passed = try FileDescriptorStore.passed()
        // Ours from here on: the next stop stores what is still open then, and nothing stale stays behind.
        for name in passed.stored.keys { FileDescriptorStore.remove(name: name) }
        // What comes back under `hb-session` that is no socket is a predecessor's old epoll (`Supervisor.store`).
        let stored = passed.stored[FileDescriptorStore.sessionName] ?? []
        let retired = stored.filter { !Descriptors.isSocket($0) }
        let states = passed.stored[FileDescriptorStore.stateName] ?? []
        let descriptors =
            stored.filter { Descriptors.isSocket($0) } + (passed.stored[FileDescriptorStore.listenerName] ?? [])
        // Only one state is ever stored; should several come back, the newest was stored last.
        for stale in states.dropLast() { Descriptors.close(stale) }
        // The carriers first, while this process has one thread: the descriptor table grows as the sockets
        // come in, and once another thread shares it every growth waits for an RCU grace period (measured:
        // 8 ms alone, 46 ms beside the decoding thread at 15,000). Then the state is decoded on a thread of
        // its own while this one reads each socket's peer for the takeover's check: neither needs the other.
        let carried = unload(
            passed.stored[FileDescriptorStore.carrierName] ?? [], descriptorLimit: descriptorLimit, logger: logger)
        let decoding = states.last.map { memfd in Decoding(memfd, descriptors: descriptors) }
        let peers = decoding == nil ? [] : carried.map { Descriptors.peer($0) }
        timeline.passed = StartTimeline.now()
        guard var inheritance = decoding?.result() else {
            closeInBackground(retired)
            guard !states.isEmpty || !descriptors.isEmpty || !carried.isEmpty else { return (nil, passed.listeners) }
            return (Inheritance(state: nil, problem: .missing, descriptors: descriptors + carried), passed.listeners)
        }
        inheritance.retired = retired
        // The carriers were loaded in the state's record order (`Supervisor.store`), and SCM_RIGHTS keeps it.
        if inheritance.state != nil {
            inheritance.carried = carried
            inheritance.carriedPeers = peers
        } else {
            inheritance.descriptors += carried
        }
        return (inheritance, passed.listeners)
    }

    /// The predecessor's old epolls named in the environment (an upgrade), if they are still open.
    private static func retired() -> [DescriptorID] {
        guard let value = environment(retiredKey) else { return [] }
        Program.unsetEnvironment(retiredKey)
        return value.split(separator: ",").compactMap { Int32($0) }.map { DescriptorID(number: $0) }
            .filter { $0.rawValue > 2 && Descriptors.isOpen($0) }
    }

    /// How long a successor leaves the predecessor's old epolls open: past the restore's rounds (a few
    /// hundred milliseconds at 15,000), whose waiting beats their closing would otherwise compete with
    /// for the CPU (measured: the slowest beat no better than before for all the faster freeze).
    static let retiredDelayMilliseconds = 2_000

    /// Closes `descriptors` on a thread of their own, `delay` milliseconds from now: a predecessor's old
    /// epoll takes ~5 µs per socket it still holds to close, which would otherwise keep handed-over
    /// sessions waiting. Closed in place if no thread can be started.
    static func closeInBackground(_ descriptors: [DescriptorID], afterMilliseconds delay: Int = 0) {
        guard !descriptors.isEmpty else { return }
        let numbers = descriptors.map(\.rawValue)
        for number in numbers { Descriptors.closeOnExec(DescriptorID(number: number)) }
        let close: @Sendable () -> Void = {
            if delay > 0 { Program.pause(milliseconds: delay) }
            for number in numbers { Descriptors.close(DescriptorID(number: number)) }
        }
        guard let thread = try? Thread.start(name: "hb-retire", close) else { return close() }
        thread.detach()
    }

    /// The sessions' sockets out of their carriers, as many as the descriptor limit leaves room for once
    /// this process has its own (`reserve`). What stays in a carrier closes with it: those records come
    /// out `lost`, and one line says why.
    private static func unload(_ carriers: [DescriptorID], descriptorLimit: Int, logger: Logger) -> [DescriptorID] {
        var room = descriptorLimit - Descriptors.openNumbers(from: 0).count - reserve
        var taken: [DescriptorID] = []
        var failures: [String] = []
        for carrier in carriers {
            let unloaded = DescriptorCarrier.unload(carrier, room: max(0, room))
            room -= unloaded.descriptors.count
            taken += unloaded.descriptors
            if let failure = unloaded.failure { failures.append(failure) }
        }
        if let first = failures.first {
            let more = failures.count > 1 ? " (and in \(failures.count - 1) more carriers)" : ""
            logger.error(
                "sessions in flight: \(first)\(more); what did not come out closed with its carrier, and those sessions count as lost",
                metadata: ["event": "handoff-in-flight-failed"])
        }
        return taken
    }

    /// `decode` on a thread of its own (in place, at `result`, if none can be started).
    private final class Decoding: Sendable {
        let memfd: DescriptorID
        let descriptors: [DescriptorID]
        let decoded = Locked<Inheritance?>(nil)
        let thread: Thread.Joinable?

        init(_ memfd: DescriptorID, descriptors: [DescriptorID]) {
            self.memfd = memfd
            self.descriptors = descriptors
            let decoded = decoded
            thread = try? Thread.start(name: "hb-decode") {
                let inheritance = Succession.decode(memfd, descriptors: descriptors)
                decoded.withLock { $0 = inheritance }
            }
        }

        func result() -> Inheritance {
            guard let thread else { return Succession.decode(memfd, descriptors: descriptors) }
            thread.join()
            return decoded.withLock { $0 } ?? Inheritance(state: nil, problem: .missing, descriptors: descriptors)
        }
    }

    private static func decode(_ memfd: DescriptorID, descriptors: [DescriptorID]) -> Inheritance {
        defer { Descriptors.close(memfd) }
        let bytes: [UInt8]
        do {
            bytes = try MemoryFile.read(memfd, limit: stateLimit)
        } catch {
            return Inheritance(state: nil, problem: .missing, descriptors: descriptors)
        }
        guard !bytes.isEmpty else { return Inheritance(state: nil, problem: .missing, descriptors: descriptors) }
        do {
            let state = try HandoffState.decode(bytes, now: Clock.monotonicNanoseconds())
            return Inheritance(state: state, problem: nil, descriptors: descriptors)
        } catch {
            return Inheritance(state: nil, problem: error, descriptors: descriptors)
        }
    }

    /// The one log line of a takeover (and, when the state was refused, why), once every worker has its
    /// sessions back: `timing` says where the time from this process's fork (or exec) went.
    static func report(
        _ inheritance: Inheritance, _ counts: TakeoverCounts, _ timing: (text: String, metadata: [String: String]),
        logger: Logger
    ) {
        var metadata: Logger.Metadata = [
            "event": "taken-over", "restored": "\(counts.restored)", "orphaned": "\(counts.orphaned)",
            "lost": "\(counts.lost)", "foreign": "\(counts.foreign)", "listeners": "\(counts.listeners)",
            "gap_ms": "\(counts.gap / 1_000_000)",
        ]
        for (key, value) in timing.metadata { metadata[key] = "\(value)" }
        if let problem = inheritance.problem {
            logger.error(
                "hand-off state refused (\(problem)): started clean; \(counts.orphaned) handed-over connections told BYE restart, \(counts.foreign) other descriptors closed",
                metadata: metadata)
            return
        }
        logger.notice(
            "took over \(counts.restored) sessions and \(counts.listeners) listeners from the previous process after \(counts.gap / 1_000_000) ms (\(counts.orphaned) without state ended, \(counts.lost) did not come back, \(counts.foreign) foreign descriptors closed); started \(timing.text)",
            metadata: metadata)
    }
}
