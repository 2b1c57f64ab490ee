// The heartbeat path: readiness → one read → lines → replies → one write. No allocation on it:
// the input buffer and the output array are the worker's, reserved once.
import EventLoop
import Logging
import Posix
import WireProtocol

extension Worker {
    func sessionReady(_ descriptor: DescriptorID, _ readiness: Readiness) {
        guard let session = sessions[descriptor.index] else { return }
        if readiness.contains(.error) {
            reap(session, because: .reset, error: session.socket?.pendingError())
            return
        }
        if readiness.contains(.writable), !flushUnsent(session) { return }
        if !readiness.isDisjoint(with: [.readable, .peerClosed, .hangUp]) {
            readInput(session, peerClosed: !readiness.isDisjoint(with: [.peerClosed, .hangUp]))
        }
    }

    /// One read, then every complete line in it. A FIN is acted on in this same turn.
    private func readInput(_ session: Session, peerClosed: Bool) {
        assert(output.isEmpty, "a previous batch left replies behind")
        let carried = session.partial.count
        if carried > 0 {
            session.partial.withUnsafeBytes { input.copyMemory(from: $0) }
        }
        let space = UnsafeMutableRawBufferPointer(rebasing: input[carried...])
        let result: IOResult<Int>
        do {
            guard let read = try session.socket?.read(into: space) else { return }
            result = read
        } catch {
            reap(session, because: .reset, error: error.errno)
            return
        }
        guard case .done(let count) = result else { return }
        if count == 0 {
            reap(session, because: session.isDraining ? .shutdown : .eof)
            return
        }
        if carried > 0 { session.partial = [] }
        guard consumeLines(session, filled: carried + count) else { return }
        guard send(to: session) else { return }
        // Everything the peer sent before its FIN has been read: it will send nothing more.
        if peerClosed, count < space.count {
            reap(session, because: session.isDraining ? .shutdown : .eof)
        }
    }

    /// Handles each complete line; keeps an incomplete tail for the next read. False if the session was reaped.
    private func consumeLines(_ session: Session, filled: Int) -> Bool {
        let bytes = UnsafeRawBufferPointer(rebasing: input[..<filled])
        var start = 0
        while start < filled {
            switch Framing.next(in: bytes, from: start, maxLine: settings.maxLine) {
            case .line(let line, let next):
                guard handle(session, bytes, line) else { return false }
                start = next
            case .incomplete:
                session.partial = Array(bytes[start...])
                return true
            case .failed(let error):
                refuse(session, error)
                return false
            }
        }
        return true
    }

    /// One line from one client. False if the session was reaped.
    private func handle(_ session: Session, _ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        let request: Request
        do {
            request = try Parser.parse(bytes, line: line)
        } catch {
            refuse(session, error)
            return false
        }
        guard session.isIdentified else {
            guard case .hello(let hello) = request else {
                refuse(session, .badHello("the first line must be HELLO <id>"))
                return false
            }
            return identify(session, hello)
        }
        session.lastHeard = loop.now
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
            reapAfterReplies(session, because: .bye)
            return false
        case .hello:
            refuse(session, .badHello("already identified"))
            return false
        }
        return true
    }

    /// A valid HELLO: take over any older session with this id, then answer OK with the values in force.
    private func identify(_ session: Session, _ hello: Hello) -> Bool {
        // Before anything else, above all the registry claim: a wrong token must not take an id over.
        guard isAuthentic(hello) else {
            refuseAuth(session, hello)
            return false
        }
        let now = loop.now
        session.interval = settings.grantedInterval(proposedMilliseconds: hello.intervalMS)
        session.timeout = session.interval * settings.timeoutFactor
        session.lastHeard = now
        session.id = hello.id
        let slot = session.descriptor.rawValue
        let claim = shared.registry.claim(hello.id, for: Owner(worker: index, slot: slot, serial: session.serial))
        if let previous = claim.previous {
            takeOver(previous)
        }
        if let timer = session.timer { loop.cancel(timer) }
        session.timer = loop.arm(UInt64(slot), at: session.deadline)
        stats.identified.add(1, ordering: .relaxed)
        Reply.appendOK(id: hello.id, intervalMS: session.interval / 1_000_000, timeoutMS: session.timeout / 1_000_000, to: &output)
        logSession(session, event: "online", message: "client online", level: .info, metadata: ["seq": "\(claim.seq)"])
        announce(.online, session, seq: claim.seq)
        return true
    }

    /// The newest session wins, in every worker: the older one ends with `BYE replaced` at once.
    private func takeOver(_ previous: Owner) {
        if previous.worker == index {
            if Int(previous.slot) < sessions.count, let old = sessions[Int(previous.slot)], old.serial == previous.serial {
                reap(old, because: .replaced)
            }
        } else {
            shared.mailboxes[previous.worker].post(.replace(slot: previous.slot, serial: previous.serial))
        }
    }

    /// A bad line ends its own session: `ERR <code>`, then reap `protocol`.
    private func refuse(_ session: Session, _ error: ProtocolError) {
        reapAfterReplies(session, because: .protocol, farewell: .error(error.code, error.detail))
    }

    /// Ends the session whose lines are being handled: the replies this batch already owes it go out
    /// first (with the farewell, best effort), and none are left in the worker's output for the next session.
    func reapAfterReplies(_ session: Session, because reason: Reason, farewell: Farewell? = nil) {
        session.unsent.append(contentsOf: output)
        output.removeAll(keepingCapacity: true)
        reap(session, because: reason, farewell: farewell)
    }

    // MARK: Writing

    /// Sends this batch's replies with one write. What the kernel does not take waits in `unsent`,
    /// up to max_line bytes; past that the client is not reading and is reaped for overload.
    /// False if the session was reaped.
    func send(to session: Session) -> Bool {
        guard !output.isEmpty else { return true }
        defer { output.removeAll(keepingCapacity: true) }
        if !session.unsent.isEmpty {
            session.unsent.append(contentsOf: output)
            return checkUnsent(session)
        }
        let result: IOResult<Int>
        do {
            result = try send(output, on: session)
        } catch {
            reap(session, because: .reset, error: error.errno)
            return false
        }
        let sent: Int
        switch result {
        case .done(let count): sent = count
        case .wouldBlock: sent = 0
        }
        guard sent < output.count else { return true }
        session.unsent.append(contentsOf: output[sent...])
        guard checkUnsent(session) else { return false }
        try? loop.modify(session.descriptor, interest: [.readable, .peerClosed, .writable])
        return true
    }

    private func send(_ bytes: [UInt8], on session: Session) throws(SystemError) -> IOResult<Int> {
        let result = bytes.withUnsafeBytes { bytes in
            Result { () throws(SystemError) in try session.socket?.send(bytes) ?? .wouldBlock }
        }
        return try result.get()
    }

    private func checkUnsent(_ session: Session) -> Bool {
        guard session.unsent.count > settings.maxLine else { return true }
        reap(session, because: .overload, farewell: .silent)
        return false
    }

    /// EPOLLOUT: the kernel has room again. False if the session was reaped.
    private func flushUnsent(_ session: Session) -> Bool {
        guard !session.unsent.isEmpty else { return true }
        let result: IOResult<Int>
        do {
            result = try send(session.unsent, on: session)
        } catch {
            reap(session, because: .reset, error: error.errno)
            return false
        }
        if case .done(let count) = result { session.unsent.removeFirst(count) }
        if session.unsent.isEmpty {
            session.unsent = []
            try? loop.modify(session.descriptor, interest: [.readable, .peerClosed])
        }
        return true
    }
}
