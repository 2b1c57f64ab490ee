// The heartbeat path: readiness → one read → lines → replies → one write. No allocation on it:
// the input buffer and the output array are the worker's, reserved once.
import EventLoop
import Logging
import Posix
import Primitives
import WireProtocol

extension Worker {
    func sessionReady(_ slot: Int, _ readiness: Readiness) {
        guard sessions.isOpen(slot) else { return }
        if !proxyBeforeTLS.isEmpty, proxyBeforeTLS.contains(slot) { return readProxyHeaderBeforeTLS(slot, readiness) }
        // A TLS session's handshake is handled there; after it, its reads and writes go through TLS below.
        guard let readiness = tls.isEmpty ? readiness : tlsReady(slot, readiness) else { return }
        if readiness.contains(.error) {
            reap(slot, because: .reset, error: sessions[slot].socket?.pendingError())
            return
        }
        if readiness.contains(.writable), !flushUnsent(slot) { return }
        if !readiness.isDisjoint(with: [.readable, .peerClosed, .hangUp]) {
            // TLS reads one record at a time, so a FIN says nothing about what is left: read until EOF.
            readInput(slot, peerClosed: tls[slot] == nil && !readiness.isDisjoint(with: [.peerClosed, .hangUp]))
        }
    }

    /// One read, then every complete line in it. A FIN is acted on in this same turn.
    private func readInput(_ slot: Int, peerClosed: Bool) {
        assert(output.isEmpty, "a previous batch left replies behind")
        var carried = 0
        if let partial = partials[slot] {
            partial.withUnsafeBytes { input.copyMemory(from: $0) }
            carried = partial.count
        }
        let space = UnsafeMutableRawBufferPointer(rebasing: input[carried...])
        let result: IOResult<Int>
        do {
            guard let read = try receive(slot, into: space) else { return }
            result = read
        } catch {
            reap(slot, because: .reset, error: error.errno)
            return
        }
        guard case .done(let count) = result else { return }
        if count == 0 {
            reap(slot, because: sessions[slot].isDraining ? .shutdown : .eof)
            return
        }
        if carried > 0 { partials[slot] = nil }
        var start = 0
        if awaitingProxyHeader.contains(slot) {
            let filled = UnsafeRawBufferPointer(rebasing: input[..<(carried + count)])
            guard let length = takeProxyHeader(slot, filled) else { return }
            start = length
        }
        guard consumeLines(slot, from: start, filled: carried + count) else { return }
        guard send(to: slot) else { return }
        // Everything the peer sent before its FIN has been read: it will send nothing more.
        if peerClosed, count < space.count {
            reap(slot, because: sessions[slot].isDraining ? .shutdown : .eof)
        }
    }

    /// Handles each complete line; keeps an incomplete tail for the next read. False if the session was reaped.
    private func consumeLines(_ slot: Int, from first: Int, filled: Int) -> Bool {
        let bytes = UnsafeRawBufferPointer(rebasing: input[..<filled])
        var start = first
        while start < filled {
            switch Framing.next(in: bytes, from: start, maxLine: settings.maxLine) {
            case .line(let line, let next):
                guard handle(slot, bytes, line) else { return false }
                start = next
            case .incomplete:
                partials[slot] = Array(bytes[start...])
                return true
            case .failed(let error):
                refuse(slot, error)
                return false
            }
        }
        return true
    }

    /// One line from one client. False if the session was reaped.
    private func handle(_ slot: Int, _ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        let request: Request
        do {
            request = try Parser.parse(bytes, line: line)
        } catch {
            if case .badAuth(let detail) = error {
                refuseAuth(
                    slot, .badAuth, id: sessions[slot].id?.description ?? challenges[slot]?.hello.id ?? "",
                    detail: detail)
            } else {
                refuse(slot, error)
            }
            return false
        }
        guard sessions[slot].isIdentified else { return greet(slot, bytes, request) }
        sessions[slot].lastHeard = loop.now
        stats.heartbeats.add(1, ordering: .relaxed)
        switch request {
        case .ping(let tag):
            if settings.pong {
                Reply.appendPong(tag: tag.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }, to: &output)
            }
        case .empty:
            break
        case .other(let verb):
            Reply.appendError(.unknownCommand, detail: UnsafeRawBufferPointer(rebasing: bytes[verb]), to: &output)
        case .bye:
            reapAfterReplies(slot, because: .bye)
            return false
        case .hello:
            refuse(slot, .badHello("already identified"))
            return false
        case .auth:
            refuseAuth(slot, .unexpectedAuth, id: sessions[slot].id?.description ?? "", detail: "AUTH after OK")
            return false
        }
        return true
    }

    /// A HELLO that passed auth (Worker+Auth): take over any older session with this id, then answer OK
    /// with the values in force.
    func identify(_ slot: Int, _ hello: Hello) -> Bool {
        // Config intervals are whole milliseconds up to 24 h, and timeout_factor is 1...100.
        let intervalMS = UInt32(clamping: settings.grantedInterval(proposedMilliseconds: hello.intervalMS) / 1_000_000)
        sessions[slot].intervalMilliseconds = intervalMS
        sessions[slot].timeoutFactor = UInt8(clamping: settings.timeoutFactor)
        sessions[slot].lastHeard = loop.now
        // The parser checked the id by the same rule; this only changes its form (16 bytes, see ClientID).
        guard let id = ClientID(hello.id) else {
            refuse(slot, .badHello("id breaks the rule: \(ClientID.rule)"))
            return false
        }
        sessions[slot].id = id
        let claim = shared.registry.claim(
            id, for: Owner(worker: index, slot: Int32(slot), serial: sessions[slot].serial))
        if let previous = claim.previous {
            takeOver(previous)
        }
        if let timer = sessions[slot].timer { loop.cancel(timer) }
        let deadline = sessions[slot].deadline
        armSessionTimer(slot, at: deadline)
        stats.identified.add(1, ordering: .relaxed)
        Reply.appendOK(
            id: hello.id, intervalMS: UInt64(intervalMS), timeoutMS: sessions[slot].timeout / 1_000_000, to: &output)
        logSession(
            sessions[slot], event: "online", message: "client online", level: .info, metadata: ["seq": "\(claim.seq)"])
        announce(.online, sessions[slot], seq: claim.seq)
        return true
    }

    /// The newest session wins, in every worker: the older one ends with `BYE replaced` at once.
    private func takeOver(_ previous: Owner) {
        if previous.worker == index {
            if sessions.holds(Int(previous.slot), serial: previous.serial) {
                reap(Int(previous.slot), because: .replaced)
            }
        } else {
            shared.mailboxes[previous.worker].post(.replace(slot: previous.slot, serial: previous.serial))
        }
    }

    /// A bad line ends its own session: `ERR <code>`, then reap `protocol`.
    private func refuse(_ slot: Int, _ error: ProtocolError) {
        reapAfterReplies(slot, because: .protocol, farewell: .error(error.code, error.detail))
    }

    /// Ends the session whose lines are being handled: the replies this batch already owes it go out
    /// first (with the farewell, best effort), and none are left in the worker's output for the next session.
    func reapAfterReplies(_ slot: Int, because reason: Reason, farewell: Farewell? = nil) {
        if !output.isEmpty { unsent[slot, default: []].append(contentsOf: output) }
        output.removeAll(keepingCapacity: true)
        reap(slot, because: reason, farewell: farewell)
    }

    // MARK: Writing

    /// Sends this batch's replies with one write. What the kernel does not take waits in `unsent`,
    /// up to max_line bytes; past that the client is not reading and is reaped for overload.
    /// False if the session was reaped.
    func send(to slot: Int) -> Bool {
        guard !output.isEmpty else { return true }
        defer { output.removeAll(keepingCapacity: true) }
        if unsent[slot] != nil {
            unsent[slot]?.append(contentsOf: output)
            return checkUnsent(slot)
        }
        let result: IOResult<Int>
        do {
            result = try send(output, on: slot)
        } catch {
            reap(slot, because: .reset, error: error.errno)
            return false
        }
        let sent: Int
        switch result {
        case .done(let count): sent = count
        case .wouldBlock: sent = 0
        }
        guard sent < output.count else { return true }
        unsent[slot] = Array(output[sent...])
        guard checkUnsent(slot) else { return false }
        try? loop.modify(slot: slot, interest: [.readable, .peerClosed, .writable])
        return true
    }

    private func send(_ bytes: [UInt8], on slot: Int) throws(SystemError) -> IOResult<Int> {
        let result = bytes.withUnsafeBytes { bytes in
            Result { () throws(SystemError) in try transmit(bytes, on: slot) }
        }
        return try result.get()
    }

    private func checkUnsent(_ slot: Int) -> Bool {
        guard let count = unsent[slot]?.count, count > settings.maxLine else { return true }
        reap(slot, because: .overload, farewell: .silent)
        return false
    }

    /// EPOLLOUT: the kernel has room again. False if the session was reaped.
    private func flushUnsent(_ slot: Int) -> Bool {
        // Taken out while it is sent, so trimming it below does not copy it.
        guard var pending = unsent.removeValue(forKey: slot) else { return true }
        let result: IOResult<Int>
        do {
            result = try send(pending, on: slot)
        } catch {
            unsent[slot] = pending
            reap(slot, because: .reset, error: error.errno)
            return false
        }
        if case .done(let count) = result { pending.removeFirst(count) }
        if pending.isEmpty {
            try? loop.modify(slot: slot, interest: [.readable, .peerClosed])
        } else {
            unsent[slot] = pending
        }
        return true
    }

    /// Arms the session's timer (hello, handshake or heartbeat deadline). The payload names the slot and
    /// the session's serial, so a timer that outlived its session finds nothing, even in a reused slot.
    func armSessionTimer(_ slot: Int, at deadline: UInt64) {
        let payload = UInt64(sessions[slot].serial) << 32 | UInt64(UInt32(slot))
        sessions[slot].timer = loop.arm(timers.session, payload, at: deadline)
    }
}
