// Engine while a session is up: read and frame the server's lines, decode them with WireProtocol,
// beat at the granted interval, and notice a server that has gone silent.
import Dispatch
import Posix
import WireProtocol

extension Engine {
    func readable(_ connection: Connection) {
        guard connection === self.connection else { return }
        let result = readBuffer.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in try connection.receive(into: buffer) }
        }
        let count: Int
        switch result {
        case .failure(let failure):
            ended(.socketError("\(failure)"))
            return
        case .success(.wouldBlock):
            return
        case .success(.done(let received)):
            count = received
        }
        if count == 0 {
            ended(.closedByServer)
            return
        }
        connection.input.append(contentsOf: readBuffer[..<count])
        var start = 0
        while connection === self.connection {
            let frame = connection.input.withUnsafeBytes {
                Framing.next(in: $0, from: start, maxLine: Framing.defaultMaxLine)
            }
            switch frame {
            case .line(let range, let next):
                start = next
                lastHeard = .now
                let line = connection.input.withUnsafeBytes { bytes in try? ServerLine.decode(bytes, line: range) }
                received(line, String(decoding: connection.input[range].prefix(64), as: UTF8.self))
            case .incomplete:
                connection.input.removeFirst(start)
                return
            case .failed(let error):
                ended(.protocolViolation("\(error.code.rawValue): \(error.detail)"))
                return
            }
        }
    }

    /// One complete line from the server, decoded (nil when it is none of OK, PONG, ERR, BYE); `text`
    /// is its start, for the message when it is not what the phase expects.
    func received(_ line: ServerLine?, _ text: @autoclosure () -> String) {
        guard let line else {
            ended(.protocolViolation("unexpected line '\(text())'"))
            return
        }
        switch (phase, line) {
        case (.leaving, .bye):
            finish(.cancelled)
        case (.leaving, _):
            break
        case (.greeting, .ok(_, let interval, let timeout)):
            identified(intervalMS: interval, timeoutMS: timeout)
        case (_, .pong), (.identified, .ok):
            break
        case (_, .error("unknown-command", _)):
            break
        case (_, .error("auth-failed", let detail)):
            stopForGood(.authFailed(detail: detail), after: .error(code: "auth-failed", detail: detail))
        case (_, .error("bad-hello", let detail)):
            stopForGood(.rejected(code: "bad-hello", detail: detail), after: .error(code: "bad-hello", detail: detail))
        case (_, .error(let code, let detail)):
            ended(.error(code: code, detail: detail))
        case (_, .bye("replaced")):
            replaced()
        case (_, .bye(let reason)):
            ended(.bye(reason: reason))
        default:
            ended(.protocolViolation("unexpected line '\(text())' before OK"))
        }
    }

    func identified(intervalMS: UInt64, timeoutMS: UInt64) {
        guard let connection, intervalMS > 0, timeoutMS > 0 else {
            ended(.protocolViolation("OK with a zero interval or timeout"))
            return
        }
        phaseTimer?.cancel()
        phaseTimer = nil
        let grant = Grant(
            interval: .milliseconds(intervalMS), timeout: .milliseconds(timeoutMS),
            address: connection.address.description
        )
        self.grant = grant
        phase = .identified
        connectedAt = .now
        if configuration.usesTCPKeepalive {
            // As the server does: probe after a timeout of silence, and give up on unacknowledged
            // data after about the same time, so the kernel agrees with the heartbeat.
            let idle = Int32(clamping: max(1, grant.timeout.components.seconds))
            let interval = Int32(clamping: max(1, grant.interval.components.seconds))
            let userTimeout = Int32(clamping: grant.timeout.milliseconds + Int64(interval) * 3_000)
            let keepalive = TCPKeepalive(
                idleSeconds: idle, intervalSeconds: interval, count: 3, userTimeoutMilliseconds: userTimeout)
            do {
                try connection.setKeepalive(keepalive)
            } catch {
                logger.warning("cannot set TCP keepalive", metadata: ["error": "\(error)"])
            }
        }
        publish(.connected(grant))
        nextBeat = .now + grant.interval
        scheduleBeat()
        if configuration.expectsPongs { scheduleSilenceCheck() }
    }

    func scheduleBeat() {
        beatTimer = schedule(after: nextBeat - .now) { [self] in beat() }
    }

    func beat() {
        guard phase == .identified, let connection, let grant else { return }
        do {
            if case .wouldBlock = try connection.send(Self.ping) {
                // The server has not read our earlier beats; the silence check or the kernel ends this.
                logger.debug("send buffer full, heartbeat skipped")
            }
        } catch {
            ended(.socketError("\(error)"))
            return
        }
        // Beats keep their own rhythm (no drift); after a stall, start again from now.
        nextBeat = nextBeat + grant.interval
        if nextBeat < .now { nextBeat = .now + grant.interval }
        scheduleBeat()
    }

    /// Lazy, like the server's timer wheel: a line only moves `lastHeard`; this check re-arms itself.
    func scheduleSilenceCheck() {
        guard let grant else { return }
        silenceTimer = schedule(after: lastHeard + grant.timeout - .now) { [self] in
            guard phase == .identified, let grant = self.grant else { return }
            let silence = ContinuousClock.now - lastHeard
            if silence >= grant.timeout {
                ended(.serverSilent(silence))
            } else {
                scheduleSilenceCheck()
            }
        }
    }
}
