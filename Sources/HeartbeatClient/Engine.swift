// One client's life as a state machine on a serial dispatch queue: connect, HELLO, beat, notice a
// silent server, back off with jitter, reconnect, leave with BYE. Every event is a closure on that
// queue, so the state needs no lock; late events from an abandoned attempt are dropped.
import Dispatch
import Logging
import WireProtocol

final class Engine: @unchecked Sendable {
    // @unchecked: every mutable field is read and written only on `queue`, which is serial.

    private enum Phase {
        case idle, connecting, greeting, identified, leaving, waiting, stopped
    }

    private let configuration: Configuration
    private let helloLine: [UInt8]
    private let queue: DispatchQueue
    private let logger: Logger
    private let randomFraction: @Sendable () -> Double
    private let publish: @Sendable (State) -> Void

    private var phase = Phase.idle
    private var isStopRequested = false
    private var completion: (@Sendable (Result<Void, HeartbeatClientError>) -> Void)?
    /// Failed attempts since the backoff was last reset: the next backoff's attempt number.
    private var failures = 0
    /// Bumped whenever a connection attempt is abandoned, so a late resolver answer is dropped.
    private var epoch: UInt64 = 0

    private var connection: Connection?
    private var addresses: [ResolvedAddress] = []
    private var lastConnectFailure = ""
    private var grant: Grant?
    private var connectedAt: ContinuousClock.Instant?
    private var lastHeard = ContinuousClock.now
    private var nextBeat = ContinuousClock.now
    private var readBuffer = [UInt8](repeating: 0, count: 4096)

    // The timer of the current phase (connect timeout, backoff sleep or BYE grace), the beat, and
    // the silence check. Each is a work item on `queue`, cancelled on the queue before it can run.
    private var phaseTimer: DispatchWorkItem?
    private var beatTimer: DispatchWorkItem?
    private var silenceTimer: DispatchWorkItem?

    private static let ping = Array("PING\n".utf8)
    private static let bye = Array("BYE\n".utf8)

    init(configuration: Configuration, helloLine: [UInt8], logger: Logger, randomFraction: @escaping @Sendable () -> Double, publish: @escaping @Sendable (State) -> Void) {
        self.configuration = configuration
        self.helloLine = helloLine
        self.logger = logger
        self.randomFraction = randomFraction
        self.publish = publish
        queue = DispatchQueue(label: "heartbeat-client.\(configuration.id)")
    }

    // MARK: Commands (any thread)

    /// Begins the first attempt; `completion` runs once, when the client has stopped.
    func start(_ completion: @escaping @Sendable (Result<Void, HeartbeatClientError>) -> Void) {
        queue.async { [self] in
            guard phase == .idle, self.completion == nil else {
                completion(.failure(.alreadyRunning))
                return
            }
            self.completion = completion
            if isStopRequested {
                finish(.cancelled)
            } else {
                attempt()
            }
        }
    }

    /// Ends the run: says BYE when a session is open and waits up to `byeTimeout` for the answer.
    func stop() {
        queue.async { [self] in
            isStopRequested = true
            switch phase {
            case .idle, .stopped, .leaving:
                // Idle: `start` sees the request and stops at once.
                break
            case .connecting, .waiting:
                finish(.cancelled)
            case .greeting, .identified:
                leave()
            }
        }
    }

    // MARK: Connecting

    private func attempt() {
        phase = .connecting
        epoch &+= 1
        let epoch = epoch
        publish(.connecting(attempt: failures))
        lastConnectFailure = "no address for \(configuration.server.host)"
        phaseTimer = schedule(after: configuration.connectTimeout) { [self] in
            if phase == .greeting {
                ended(.helloUnanswered)
            } else {
                ended(.connectFailed("timed out after \(configuration.connectTimeout) (\(lastConnectFailure))"))
            }
        }
        let endpoint = configuration.server
        // getaddrinfo blocks; it runs elsewhere and reports back to the queue.
        DispatchQueue.global().async { [self] in
            let result = resolve(endpoint)
            queue.async { [self] in
                guard self.epoch == epoch, phase == .connecting else { return }
                switch result {
                case .success(let list):
                    addresses = list
                    connectNextAddress()
                case .failure(let failure):
                    ended(.connectFailed(failure.description))
                }
            }
        }
    }

    /// Tries the resolver's addresses in order until one connects.
    private func connectNextAddress() {
        guard !addresses.isEmpty else {
            ended(.connectFailed(lastConnectFailure))
            return
        }
        let address = addresses.removeFirst()
        let socket: ClientSocket
        do {
            socket = try ClientSocket.open(family: address.family)
        } catch {
            lastConnectFailure = "\(address.description): \(error.description)"
            connectNextAddress()
            return
        }
        let connection = Connection(socket: socket, address: address, queue: queue)
        self.connection = connection
        do {
            if configuration.usesTCPKeepalive {
                // Until the OK says otherwise, give up with the connect timeout.
                let seconds = Int32(clamping: max(1, configuration.connectTimeout.components.seconds))
                try socket.setKeepalive(idleSeconds: seconds, intervalSeconds: 1, count: 3, userTimeoutMilliseconds: Int32(clamping: configuration.connectTimeout.milliseconds))
            }
            if try socket.connect(to: address) {
                greet(connection)
            } else {
                connection.watchWritable { [self] in connectFinished(connection) }
            }
        } catch {
            abandon(connection, failure: "\(address.description): \(error.description)")
        }
    }

    private func connectFinished(_ connection: Connection) {
        guard connection === self.connection, phase == .connecting else { return }
        connection.stopWatchingWritable()
        if let failure = connection.socket.connectError() {
            abandon(connection, failure: "\(connection.address.description): \(failure.description)")
        } else {
            greet(connection)
        }
    }

    private func abandon(_ connection: Connection, failure: String) {
        connection.close()
        self.connection = nil
        lastConnectFailure = failure
        connectNextAddress()
    }

    private func greet(_ connection: Connection) {
        phase = .greeting
        connection.watchReadable { [self] in readable(connection) }
        do {
            if case .wouldBlock = try connection.socket.send(helloLine) {
                ended(.socketError("send buffer full before HELLO"))
            }
        } catch {
            ended(.socketError(error.description))
        }
    }

    // MARK: Reading

    private func readable(_ connection: Connection) {
        guard connection === self.connection else { return }
        let result = readBuffer.withUnsafeMutableBytes { buffer in
            Result { () throws(SocketFailure) in try connection.socket.receive(into: buffer) }
        }
        let count: Int
        switch result {
        case .failure(let failure):
            ended(.socketError(failure.description))
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
            let frame = connection.input.withUnsafeBytes { Framing.next(in: $0, from: start, maxLine: Framing.defaultMaxLine) }
            switch frame {
            case .line(let range, let next):
                start = next
                let text = String(decoding: connection.input[range], as: UTF8.self)
                received(text)
            case .incomplete:
                connection.input.removeFirst(start)
                return
            case .failed(let error):
                ended(.protocolViolation("\(error.code.rawValue): \(error.detail)"))
                return
            }
        }
    }

    /// One complete line from the server.
    private func received(_ text: String) {
        lastHeard = .now
        guard let line = ServerLine(text[...]) else {
            ended(.protocolViolation("unexpected line '\(text.prefix(64))'"))
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
            ended(.protocolViolation("unexpected line '\(text.prefix(64))' before OK"))
        }
    }

    // MARK: Identified

    private func identified(intervalMS: UInt64, timeoutMS: UInt64) {
        guard let connection, intervalMS > 0, timeoutMS > 0 else {
            ended(.protocolViolation("OK with a zero interval or timeout"))
            return
        }
        phaseTimer?.cancel()
        phaseTimer = nil
        let grant = Grant(interval: .milliseconds(intervalMS), timeout: .milliseconds(timeoutMS), address: connection.address.description)
        self.grant = grant
        phase = .identified
        connectedAt = .now
        if configuration.usesTCPKeepalive {
            // As the server does: probe after a timeout of silence, and give up on unacknowledged
            // data after about the same time, so the kernel agrees with the heartbeat.
            let idle = Int32(clamping: max(1, grant.timeout.components.seconds))
            let interval = Int32(clamping: max(1, grant.interval.components.seconds))
            let userTimeout = Int32(clamping: grant.timeout.milliseconds + Int64(interval) * 3_000)
            do {
                try connection.socket.setKeepalive(idleSeconds: idle, intervalSeconds: interval, count: 3, userTimeoutMilliseconds: userTimeout)
            } catch {
                logger.warning("cannot set TCP keepalive", metadata: ["error": "\(error.description)"])
            }
        }
        publish(.connected(grant))
        nextBeat = .now + grant.interval
        scheduleBeat()
        if configuration.expectsPongs { scheduleSilenceCheck() }
    }

    private func scheduleBeat() {
        beatTimer = schedule(after: nextBeat - .now) { [self] in beat() }
    }

    private func beat() {
        guard phase == .identified, let connection, let grant else { return }
        do {
            if case .wouldBlock = try connection.socket.send(Self.ping) {
                // The server has not read our earlier beats; the silence check or the kernel ends this.
                logger.debug("send buffer full, heartbeat skipped")
            }
        } catch {
            ended(.socketError(error.description))
            return
        }
        // Beats keep their own rhythm (no drift); after a stall, start again from now.
        nextBeat = nextBeat + grant.interval
        if nextBeat < .now { nextBeat = .now + grant.interval }
        scheduleBeat()
    }

    /// Lazy, like the server's timer wheel: a line only moves `lastHeard`; this check re-arms itself.
    private func scheduleSilenceCheck() {
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

    // MARK: Endings

    /// The connection is over (or never came up): reconnect after a jittered backoff.
    private func ended(_ disconnect: Disconnect) {
        if phase == .leaving {
            finish(.cancelled)
            return
        }
        let upFor = connectedAt.map { ContinuousClock.now - $0 }
        tearDown()
        logger.debug("disconnected", metadata: ["reason": "\(disconnect)"])
        publish(.disconnected(disconnect))
        if let upFor, upFor >= configuration.resetBackoffAfter { failures = 0 }
        let delay = configuration.backoff.delay(attempt: failures, fraction: randomFraction())
        failures += 1
        wait(delay)
    }

    private func replaced() {
        tearDown()
        publish(.disconnected(.bye(reason: "replaced")))
        switch configuration.onReplaced {
        case .stop:
            finish(.failed(.replaced))
        case .backOff(let delay):
            wait(delay)
        }
    }

    private func stopForGood(_ error: HeartbeatClientError, after disconnect: Disconnect) {
        tearDown()
        publish(.disconnected(disconnect))
        finish(.failed(error))
    }

    private func wait(_ delay: Duration) {
        phase = .waiting
        publish(.waiting(delay: delay, attempt: failures))
        phaseTimer = schedule(after: delay) { [self] in attempt() }
    }

    /// Cancelled while a session is open: BYE, then wait briefly for `BYE bye` or the close.
    private func leave() {
        guard let connection else {
            finish(.cancelled)
            return
        }
        beatTimer?.cancel()
        silenceTimer?.cancel()
        phaseTimer?.cancel()
        phase = .leaving
        do {
            guard case .done = try connection.socket.send(Self.bye) else {
                finish(.cancelled)
                return
            }
        } catch {
            finish(.cancelled)
            return
        }
        phaseTimer = schedule(after: configuration.byeTimeout) { [self] in finish(.cancelled) }
    }

    private func finish(_ stop: Stop) {
        tearDown()
        phase = .stopped
        publish(.stopped(stop))
        let completion = completion
        self.completion = nil
        switch stop {
        case .cancelled: completion?(.success(()))
        case .failed(let error): completion?(.failure(error))
        }
    }

    private func tearDown() {
        for timer in [phaseTimer, beatTimer, silenceTimer] { timer?.cancel() }
        phaseTimer = nil
        beatTimer = nil
        silenceTimer = nil
        connection?.close()
        connection = nil
        addresses = []
        grant = nil
        connectedAt = nil
        epoch &+= 1
    }

    private func schedule(after delay: Duration, _ body: @escaping () -> Void) -> DispatchWorkItem {
        let item = DispatchWorkItem(block: body)
        let nanoseconds = max(0, delay.nanoseconds)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds)), execute: item)
        return item
    }
}

extension Duration {
    /// Whole nanoseconds, saturating instead of overflowing for durations of centuries.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).overflow ? .max : whole + attoseconds / 1_000_000_000
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
