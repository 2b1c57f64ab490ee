// Reap: the one teardown path. Nothing else closes a client socket.
import Logging
import Posix
import TLS
import WireProtocol

extension Worker {
    /// Ends the session at `slot` for `reason`, in this order (DESIGN §4):
    ///  1. cancel its wheel entry;           2. remove its descriptor from epoll (the close in step 5
    ///     does that in the kernel for a socket only we hold: the loop just forgets it, no epoll_ctl);
    ///  3. remove it from the table (with its side-table entries: partial line, unsent bytes, pending
    ///     challenge, awaited PROXY header, TLS state) and its id from the registry
    ///     (unless a newer session owns it);
    ///  4. write the farewell line if the socket takes it without blocking;
    ///  5. shutdown(SHUT_WR) (not after a reset: nothing is left to shut), then close;
    ///  6. log one line with reason, id, peer and duration (and, for an identified session, announce
    ///     its `offline` or `replaced` presence event).
    /// Reaping twice is harmless: the second call finds the slot empty. `note` is an operator's kick text;
    /// `tlsFailure` why a TLS session failed (an unidentified one is then logged as `tls-failed`).
    /// A TLS session's farewell goes through SSL_write, then one non-blocking SSL_shutdown, before step 5;
    /// its SSL object is freed after the close.
    func reap(
        _ slot: Int, because reason: Reason, farewell: Farewell? = nil, error: Errno? = nil, lateness: UInt64? = nil,
        note: String? = nil, tlsFailure: TLSError? = nil
    ) {
        guard sessions.isOpen(slot) else { return }
        if let timer = sessions[slot].timer { loop.cancel(timer) }
        if !handoff.restored.isEmpty, handoff.restored.remove(slot) != nil {
            loop.unregister(slot: slot)
        } else {
            loop.forget(slot: slot)
        }
        guard var session = sessions.remove(slot), let socket = session.socket.take() else { return }
        let unsentBytes = unsent.removeValue(forKey: slot) ?? []
        partials[slot] = nil
        let tlsState = tls.removeValue(forKey: slot)
        handoff.cannotHandOver.remove(slot)
        challenges[slot] = nil
        awaitingProxyHeader.remove(slot)
        proxyBeforeTLS.remove(slot)
        var departure: (isReleased: Bool, seq: UInt64)?
        if let id = session.id {
            departure = shared.registry.release(
                id, from: Owner(worker: index, slot: Int32(slot), serial: session.serial))
            stats.identified.subtract(1, ordering: .relaxed)
        }
        shared.admission.leave(session.peer.host)
        stats.connected.subtract(1, ordering: .relaxed)
        stats.countReap(reason)

        let shutsDown = reason != .reset
        sayFarewell(farewell ?? reason.farewell, after: unsentBytes, on: socket, tls: tlsState, beforeFIN: shutsDown)
        if shutsDown { socket.shutdownWrite() }
        socket.close()

        logReap(
            session, reason: reason, error: error, lateness: lateness, departure: departure, note: note,
            tlsFailure: tlsFailure)
        if let departure {
            // Reason `replaced` with the id released: another node took it over (Server.evict); the id is
            // still online, elsewhere.
            let isGone = departure.isReleased && reason != .replaced
            announce(isGone ? .offline : .replaced, session, seq: departure.seq, reason: reason, note: note)
        }
        if isDraining, stats.connected.load(ordering: .relaxed) == 0 { loop.stop() }
    }

    /// Best effort, one non-blocking send of whatever was still unsent plus the farewell line. `beforeFIN`:
    /// the shutdown follows at once, so the line waits for it (MSG_MORE) and both leave in one segment.
    private func sayFarewell(
        _ farewell: Farewell, after unsent: [UInt8], on socket: borrowing Socket, tls: TLSState?, beforeFIN: Bool
    ) {
        var line = unsent
        switch farewell {
        case .silent: line.removeAll()
        case .bye(let reason): Reply.appendBye(reason, to: &line)
        case .error(let code, let detail):
            if detail.isEmpty {
                Reply.appendError(code, to: &line)
            } else {
                Reply.appendError(code, text: detail, to: &line)
            }
        }
        if let tls {
            if tls.isEstablished { sayFarewell(line, through: tls.stream) }
            return
        }
        guard !line.isEmpty else { return }
        _ = line.withUnsafeBytes { bytes in try? socket.send(bytes, more: beforeFIN) }
    }

    /// `departure` is what the registry said: a session whose id a newer session already holds is
    /// logged as `replaced` whatever ended it, so the log and `watch` agree on who is online.
    private func logReap(
        _ session: borrowing Session, reason: Reason, error: Errno?, lateness: UInt64?,
        departure: (isReleased: Bool, seq: UInt64)?, note: String?, tlsFailure: TLSError?
    ) {
        // Built only for a line that is written: in a storm most are held back by the budget.
        let duration = (loop.now &- session.connectedAt) / 1_000_000
        let peer = session.peer
        func details() -> Logger.Metadata {
            var metadata: Logger.Metadata = [
                "reason": "\(reason.rawValue)",
                "peer": "\(peer)",
                "session.duration_ms": "\(duration)",
            ]
            if let error { metadata["error"] = "\(error.name)" }
            if let lateness { metadata["late_ms"] = "\(lateness / 1_000_000)" }
            if let departure { metadata["seq"] = "\(departure.seq)" }
            if let note { metadata["note"] = "\(note)" }
            if let tlsFailure {
                metadata["tls.reason"] = "\(tlsFailure.kind.rawValue)"
                metadata["error"] = "\(tlsFailure.description)"
            }
            return metadata
        }
        guard session.isIdentified else {
            if tlsFailure != nil {
                logSession(
                    session, event: "tls-failed", message: "TLS handshake failed", level: .notice, reason: reason,
                    metadata: details())
            } else {
                logSession(
                    session, event: "closed", message: "connection closed", level: .info, reason: reason,
                    metadata: details())
            }
            return
        }
        if departure?.isReleased == false || reason == .replaced {
            logSession(
                session, event: "replaced", message: "client replaced by a newer session", level: .info, reason: reason,
                metadata: details())
        } else {
            logSession(
                session, event: "offline", message: "client offline", level: .info, reason: reason, metadata: details())
        }
    }

    /// A session line, unless log.sessions is off or the second's budget is spent (then it is counted for the
    /// summary, by event and `reason`). `metadata` is evaluated only for a line that is written.
    func logSession(
        _ session: borrowing Session, event: String, message: @autoclosure () -> Logger.Message, level: Logger.Level,
        reason: Reason? = nil, metadata: @autoclosure () -> Logger.Metadata = [:]
    ) {
        guard settings.logSessions, logger.logLevel <= level else { return }
        let kind = reason.map { "\(event) (\($0.rawValue))" } ?? event
        let verdict = logBudget.admit(kind, now: loop.now)
        if verdict.startsSuppressing {
            _ = loop.arm(timers.logSummary, at: logBudget.summaryDeadline)
        }
        guard verdict.admitted else { return }
        var metadata = metadata()
        metadata["event"] = "\(event)"
        metadata["peer"] = "\(session.peer)"
        if let id = session.id { metadata["client.id"] = "\(id)" }
        logger.log(level: level, message(), metadata: metadata)
    }

    /// Once a second during a storm: how many session lines were held back, by kind.
    func logSuppressedSummary() {
        let counts = logBudget.takeSummary(now: loop.now)
        guard !counts.isEmpty else { return }
        let total = counts.values.reduce(0, +)
        let detail = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        logger.notice(
            "\(total) session lines held back in the last second: \(detail)",
            metadata: ["event": "overload", "suppressed": "\(total)"])
    }
}
