// Restart and upgrade on the supervisor's side (docs/operations.md): `heartbeatctl upgrade` checks the
// binary on disk, freezes every session and `execve`s it with the state in a memfd (same PID); SIGTERM
// under systemd with an fd store hands the sockets, listeners and state to systemd instead of draining.
import ControlProtocol
import EventLoop
import Handoff
import HeartbeatConfig
import Logging
import Posix
import ServerCore
import SystemdEdge

extension Supervisor {
    /// Why the workers are freezing their sessions.
    enum HandoffPurpose {
        case upgrade(path: String, reply: (ControlError) -> Void)
        /// Since when (CLOCK_MONOTONIC): the `stopped:` line says how long the freeze and the store took.
        case stop(since: UInt64)
    }

    /// How long the new binary gets to pass `--check-config` before the upgrade is called off.
    static let checkTimeout: UInt64 = 10_000_000_000

    var pacing: Pacing {
        Pacing(
            window: nanosecondsOf(config.restart.byeWindow), jitter: Double(config.restart.byeJitterPercent) / 100)
    }

    /// `heartbeatctl upgrade`. Everything that can fail before the point of no return is checked first;
    /// `reply` is called only if the upgrade did not happen, and the old process serves on.
    func upgrade(_ server: Server, reply: @escaping (ControlError) -> Void) {
        guard !isStopping, handoffPurpose == nil else {
            return reply(.upgradeFailed("a stop or an upgrade is already under way"))
        }
        guard let path = ownPath else { return reply(.upgradeFailed("cannot tell this binary's path")) }
        let check = Array(CommandLine.arguments.dropFirst()) + ["--check-config"]
        let failure: String?
        switch Program.check(path, arguments: check, timeout: Self.checkTimeout) {
        case .success(0): failure = nil
        case .success(let status): failure = "\(path) --check-config exited with status \(status)"
        case .failure(let why): failure = "\(path) \(why)"
        }
        if let failure {
            logger.error("upgrade refused: \(failure); still serving", metadata: ["event": "upgrade-failed"])
            return reply(.upgradeFailed(failure))
        }
        notifier?.reloading(monotonicMicroseconds: Clock.monotonicNanoseconds() / 1_000)
        logger.notice(
            "upgrading: handing \(server.snapshot().identified) sessions to \(path)", metadata: ["event": "upgrading"])
        handoffPurpose = .upgrade(path: path, reply: reply)
        server.handOff(pacing: pacing) { [mailbox] in mailbox?.post(.handedOff($0, retired: $1)) }
    }

    /// SIGTERM with somewhere to keep the sessions: hand them to systemd's fd store, not `BYE shutdown`.
    /// Whether a restart follows is systemd's to know: it keeps them for a queued start, discards them
    /// on a plain stop (clients then see their connection close and reconnect, as after a drain).
    func handOffAtStop(_ server: Server) -> Bool {
        guard config.restart.keepSessions, FileDescriptorStore.isAvailable, let capacity = FileDescriptorStore.capacity,
            capacity > 1
        else { return false }
        handoffPurpose = .stop(since: Clock.monotonicNanoseconds())
        notifier?.stopping(status: "stopping: handing \(server.snapshot().identified) sessions to the fd store")
        server.handOff(pacing: pacing, acrossExec: false) { [mailbox] in mailbox?.post(.handedOff($0, retired: $1)) }
        return true
    }

    /// Every worker has frozen its sessions: exec the new binary, or store everything with systemd.
    /// `retired` are the workers' old epolls, still holding the frozen sessions: they go to the successor,
    /// which closes them once it has taken over (closing them here would be on the way to the exec or exit).
    func handedOff(_ state: HandoffState, retired: [DescriptorID], server: Server) {
        switch handoffPurpose {
        case .upgrade(let path, let reply)?:
            exec(path, state, retired: retired, server: server, reply: reply)
        case .stop(let since)?:
            store(state, retired: retired, since: since)
        case nil:
            Succession.closeInBackground(retired)
        }
    }

    private func exec(
        _ path: String, _ state: HandoffState, retired: [DescriptorID], server: Server, reply: (ControlError) -> Void
    ) {
        let error: SystemError
        do {
            let memfd = try MemoryFile.create(name: "heartbeatd-state", bytes: state.encoded(), keepAcrossExec: true)
            var variables = Program.environment()
            variables[Succession.environmentKey] = "\(memfd.rawValue)"
            let kept = retired.filter { (try? Descriptors.keepAcrossExec($0)) != nil }
            if !kept.isEmpty {
                variables[Succession.retiredKey] = kept.map { "\($0.rawValue)" }.joined(separator: ",")
            }
            logger.notice(
                "upgrading: exec \(path) with \(state.sessions.count) sessions and \(state.listeners.count) listeners",
                metadata: ["event": "exec"])
            error = Program.replace(with: path, arguments: CommandLine.arguments, environment: variables)
            Descriptors.close(memfd)
        } catch let failure {
            error = failure
        }
        handoffPurpose = nil
        Succession.closeInBackground(retired)
        server.resumeAfterHandOff()
        notifier?.ready(status: status.lastSent)
        logger.error("upgrade failed: \(error); still serving", metadata: ["event": "upgrade-failed"])
        reply(.upgradeFailed("\(error)"))
    }

    /// The listeners, the state and the sessions' sockets into the fd store, then exit without a
    /// farewell: the clients must not notice. The sockets go in flight in carriers first
    /// (`DescriptorCarrier`), one store entry each, so PID 1 handles a few entries, not one per session
    /// (its store is quadratic in entries on systemd 252). Sessions that cannot be put in flight (the
    /// kernel refused: memory, or the in-flight limit) are told `BYE restart` and left out of the state:
    /// storing them one by one is the quadratic path, and the store is sized for carriers, not sessions.
    private func store(_ state: HandoffState, retired: [DescriptorID], since: UInt64) {
        var state = state
        var instants = [since, Clock.monotonicNanoseconds()]
        let loaded = DescriptorCarrier.load(state.sessions.map { DescriptorID(number: $0.descriptor) })
        if let failure = loaded.failure {
            let left = state.sessions.count - loaded.sent
            logger.error(
                "cannot put every session in flight (\(failure)): \(left) told BYE restart",
                metadata: ["event": "handoff-in-flight-failed"])
            for record in state.sessions[loaded.sent...] {
                Server.endWithRestart(DescriptorID(number: record.descriptor))
            }
            state.sessions.removeLast(left)
        }
        let listeners = state.listeners.filter { $0.worker != nil }.map { DescriptorID(number: $0.descriptor) }
        let room = max(0, (FileDescriptorStore.capacity ?? 0) - 1 - listeners.count)
        if loaded.carriers.count > room {
            logger.warning(
                "the fd store has room for \(room) carriers, not \(loaded.carriers.count): the sessions in the others will see their connection close (raise FileDescriptorStoreMax=)"
            )
        }
        instants.append(Clock.monotonicNanoseconds())
        do {
            let memfd = try MemoryFile.create(name: "heartbeatd-state", bytes: state.encoded(), keepAcrossExec: false)
            instants.append(Clock.monotonicNanoseconds())
            let stored = FileDescriptorStore.store([memfd], name: FileDescriptorStore.stateName)
            _ = FileDescriptorStore.store(listeners, name: FileDescriptorStore.listenerName)
            let carriers = FileDescriptorStore.store(loaded.carriers, name: FileDescriptorStore.carrierName)
            // The old epolls: closed at exit, they would hold the exit up (~75 ms at 15,000 sessions), and
            // systemd's start of the successor with it. Last, so a full store drops these rather than
            // sessions; under `hb-session`, where a successor of any version takes a descriptor that is no
            // socket for a foreign one and closes it (an unknown name would stop an older one from starting).
            _ = FileDescriptorStore.store(retired, name: FileDescriptorStore.sessionName)
            instants.append(Clock.monotonicNanoseconds())
            // From SIGTERM: the workers' freeze, loading the carriers, encoding the state, systemd's store.
            let parts = zip(["freeze", "carriers", "state", "store"], zip(instants, instants.dropFirst())).map {
                ($0, StartTimeline.milliseconds($1.1 &- $1.0))
            }
            var metadata: Logger.Metadata = [
                "event": "stopped", "handed_over": "\(loaded.sent)", "carriers": "\(carriers)",
            ]
            for (name, value) in parts { metadata["\(name)_ms"] = "\(value)" }
            logger.notice(
                "stopped: \(loaded.sent) sessions in \(carriers) carriers and \(listeners.count) listeners handed to systemd's fd store\(stored == 1 ? "" : " (the state was not stored)") in \(StartTimeline.milliseconds(instants[instants.count - 1] &- since)) ms (\(parts.map { "\($0.0) \($0.1)" }.joined(separator: ", ")) ms); a restart takes them back",
                metadata: metadata)
        } catch {
            logger.error("cannot write the hand-off state: \(error); clients will reconnect")
        }
        Program.exit(0)
    }
}
