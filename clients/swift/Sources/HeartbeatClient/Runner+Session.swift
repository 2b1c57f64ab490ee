// One session of the run loop: HELLO and its answer, then beats on the granted interval and a watchdog for
// silence, until the server ends it, goes silent, or the client leaves. The loop below owns the session's
// state; its child tasks (the reader, the beat, the watchdog, the timers) only turn things into events.
import NIOCore
import WireProtocol

extension Runner {
    enum SessionEvent: Sendable {
        case inbound(Inbound)
        case writeFailed(any Error)
        case helloTimeout
        case beat
        case silenceCheck
        case shutdown
        case byeTimeout
    }

    enum Phase {
        /// HELLO sent, waiting for `OK` (or for a `CHALLENGE`, answered with `AUTH`, then `OK`).
        case greeting
        /// `OK` received: beating, watching for silence.
        case up
        /// Graceful shutdown: `BYE` sent, waiting up to `byeTimeout` for `BYE bye` or the close.
        case leaving
    }

    /// What the greeting makes of one line.
    enum Greeting {
        case granted(HeartbeatClient.Grant)
        case end(Ending)
        case keepWaiting
    }

    func session(_ connection: Connection) async -> Ending {
        let (events, sink) = AsyncStream.makeStream(of: SessionEvent.self)
        let key = shutdown.whenTriggered { sink.yield(.shutdown) }
        defer { shutdown.remove(key) }
        return await withTaskGroup(of: Void.self) { group in
            defer {
                connection.close()
                group.cancelAll()
            }
            group.addTask {
                for await inbound in connection.inbound { sink.yield(.inbound(inbound)) }
            }
            after(clock.now.advanced(by: configuration.connectTimeout), .helloTimeout, &group, sink)
            connection.write(helloLine) { sink.yield(.writeFailed($0)) }

            var phase = Phase.greeting
            var lastHeard = clock.now
            var grant: HeartbeatClient.Grant?
            var connectedAt: C.Instant?
            var writeError: (any Error)?
            var answeredChallenge = false
            func upFor() -> Duration? { connectedAt.map { $0.duration(to: clock.now) } }

            for await event in events {
                switch event {
                case .inbound(.line(let line, let text)):
                    lastHeard = clock.now
                    if phase == .leaving {
                        if case .bye = line { return .stop(.shutDown, nil) }
                        continue
                    }
                    guard let line else {
                        if phase == .greeting, text.hasPrefix("CHALLENGE") {
                            // Not a nonce this client can answer: a broken or hostile server, which
                            // reconnecting will not fix.
                            let error = HeartbeatClient.Error(.auth, "malformed challenge '\(text)'")
                            return .stop(.failed(error), error)
                        }
                        return .reconnect(.init(.protocol, "unexpected line '\(text)'"), upFor: upFor())
                    }
                    guard phase == .greeting else {
                        if let ending = established(line) { return ending.with(upFor: upFor()) }
                        continue
                    }
                    switch greeting(line, text, connection, answered: &answeredChallenge) {
                    case .keepWaiting:
                        continue
                    case .end(let ending):
                        return ending
                    case .granted(let granted):
                        phase = .up
                        grant = granted
                        connectedAt = clock.now
                        publish(.connected(granted))
                        beat(every: granted.interval, from: clock.now, &group, sink)
                        if configuration.expectsPongs {
                            after(lastHeard.advanced(by: granted.timeout), .silenceCheck, &group, sink)
                        }
                        if configuration.usesTCPKeepalive { keepAlive(connection, granted) }
                    }
                case .writeFailed(let error):
                    // The channel is closing: its own error (a TLS alert, say) or its close ends the session.
                    if writeError == nil { writeError = error }
                case .inbound(.failed(let error)):
                    if phase == .leaving { return .stop(.shutDown, nil) }
                    return .reconnect(Transport.sessionError(error, context: connection.address), upFor: upFor())
                case .inbound(.closed):
                    if phase == .leaving { return .stop(.shutDown, nil) }
                    let error = writeError.map { Transport.sessionError($0, context: connection.address) }
                    return .reconnect(error ?? .init(.closed, "server closed the connection"), upFor: upFor())
                case .helloTimeout:
                    guard phase == .greeting else { continue }
                    let detail = "no answer to HELLO within \(configuration.connectTimeout)"
                    return .reconnect(.init(.timeout, detail), upFor: nil)
                case .beat:
                    guard phase == .up else { continue }
                    var ping: [UInt8] = []
                    RequestLine.appendPing(to: &ping)
                    connection.write(ping) { sink.yield(.writeFailed($0)) }
                case .silenceCheck:
                    guard phase == .up, let grant else { continue }
                    // Lazy re-arm, as the server's wheel does: one check per timeout, not one per line.
                    let silence = lastHeard.duration(to: clock.now)
                    if silence >= grant.timeout {
                        return .reconnect(.init(.serverSilent, "server silent for \(silence)"), upFor: upFor())
                    }
                    after(lastHeard.advanced(by: grant.timeout), .silenceCheck, &group, sink)
                case .shutdown:
                    // Before the OK there is no session to end with BYE: close (as the C client does).
                    guard phase == .up else { return .stop(.shutDown, nil) }
                    phase = .leaving
                    var bye: [UInt8] = []
                    RequestLine.appendBye(to: &bye)
                    connection.write(bye) { sink.yield(.writeFailed($0)) }
                    after(clock.now.advanced(by: configuration.byeTimeout), .byeTimeout, &group, sink)
                case .byeTimeout:
                    return .stop(.shutDown, nil)
                }
            }
            // The events end only when the task is cancelled: close at once.
            return .stop(.cancelled, nil)
        }
    }

    /// The answer to HELLO. A `CHALLENGE` is answered with `AUTH` on `connection` (once: `answered`), and the
    /// `OK` still awaited.
    func greeting(
        _ line: ServerLine, _ text: String, _ connection: Connection, answered: inout Bool
    ) -> Greeting {
        switch line {
        case .ok(_, let intervalMS, let timeoutMS):
            guard intervalMS > 0, timeoutMS > 0 else {
                return .end(.reconnect(.init(.protocol, "OK with a zero interval or timeout"), upFor: nil))
            }
            return .granted(
                HeartbeatClient.Grant(
                    interval: .milliseconds(intervalMS), timeout: .milliseconds(timeoutMS),
                    address: connection.address))
        case .pong:
            return .end(.reconnect(.init(.protocol, "unexpected line '\(text)' before OK"), upFor: nil))
        case .error, .bye:
            return established(line).map { .end($0) } ?? .keepWaiting
        case .challenge(let nonce):
            // Stops rather than reconnects: without the key, or asked twice, every new attempt ends alike.
            guard !answered else {
                let error = HeartbeatClient.Error(.auth, "a second CHALLENGE after AUTH")
                return .end(.stop(.failed(error), error))
            }
            guard let key = configuration.deviceKey else {
                let error = HeartbeatClient.Error(
                    .auth, "the server asks for challenge auth ([auth] mode = \"challenge\") and no device key is set")
                return .end(.stop(.failed(error), error))
            }
            answered = true
            connection.write(key.authLine(nonce: nonce)) { [logger] error in
                logger.debug("cannot write AUTH", metadata: ["error": "\(error)"])
            }
            return .keepWaiting
        }
    }

    /// A line on an identified session (or an ERR/BYE answering HELLO): nil to carry on.
    func established(_ line: ServerLine) -> Ending? {
        switch line {
        case .ok, .pong, .error("unknown-command", _):
            return nil
        case .challenge:
            return .reconnect(.init(.protocol, "CHALLENGE on an identified session"), upFor: nil)
        case .error("auth-failed", let detail):
            let error = HeartbeatClient.Error(
                .auth, "server said ERR auth-failed" + (detail.isEmpty ? "" : " \(detail)"))
            return .stop(.failed(error), error)
        case .error("bad-hello", let detail):
            let error = HeartbeatClient.Error(
                .rejected, "server said ERR bad-hello" + (detail.isEmpty ? "" : " \(detail)"))
            return .stop(.failed(error), error)
        case .error(let code, let detail):
            return .reconnect(.init(.serverError, detail.isEmpty ? code : "\(code) \(detail)"), upFor: nil)
        case .bye("replaced"):
            return .replaced(.init(.replaced, "another client took over this id (BYE replaced)"))
        case .bye(let reason):
            return .reconnect(.init(.bye, reason), upFor: nil)
        }
    }

    /// A child task that sleeps until `deadline` on the clock, then says `event`; cancelled with the session.
    private func after(
        _ deadline: C.Instant, _ event: SessionEvent, _ group: inout TaskGroup<Void>,
        _ sink: AsyncStream<SessionEvent>.Continuation
    ) {
        group.addTask { [clock] in
            guard (try? await clock.sleep(until: deadline, tolerance: nil)) != nil else { return }
            sink.yield(event)
        }
    }

    /// The beat: a child task that says `.beat` at start + n × interval — a fixed rhythm that does not drift
    /// with late wake-ups, and skips beats it slept through rather than sending them in a burst.
    private func beat(
        every interval: Duration, from start: C.Instant, _ group: inout TaskGroup<Void>,
        _ sink: AsyncStream<SessionEvent>.Continuation
    ) {
        group.addTask { [clock] in
            var next = start.advanced(by: interval)
            while (try? await clock.sleep(until: next, tolerance: nil)) != nil {
                sink.yield(.beat)
                let now = clock.now
                repeat { next = next.advanced(by: interval) } while next <= now
            }
        }
    }

    /// Keepalive probes and TCP_USER_TIMEOUT scaled to the grant, as the server sets them on its side.
    private func keepAlive(_ connection: Connection, _ grant: HeartbeatClient.Grant) {
        for (option, value) in TCPKeepalive.options(timeout: grant.timeout, interval: grant.interval) {
            connection.channel.setOption(option, value: value).whenFailure { [logger] error in
                logger.debug("cannot set a keepalive option", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension Runner.Ending {
    /// A reconnect carries how long the session was up (for resetting the backoff).
    func with(upFor: Duration?) -> Self {
        if case .reconnect(let error, _) = self { return .reconnect(error, upFor: upFor) }
        return self
    }
}
