// How Engine's connections end: reconnect after a jittered backoff, stop for good, or leave with BYE
// and a short wait for the answer; one teardown for all of them.
import Dispatch

extension Engine {
    /// The connection is over (or never came up): reconnect after a jittered backoff.
    func ended(_ disconnect: Disconnect) {
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

    func replaced() {
        tearDown()
        publish(.disconnected(.bye(reason: "replaced")))
        switch configuration.onReplaced {
        case .stop:
            finish(.failed(.replaced))
        case .backOff(let delay):
            wait(delay)
        }
    }

    func stopForGood(_ error: HeartbeatClientError, after disconnect: Disconnect) {
        tearDown()
        publish(.disconnected(disconnect))
        finish(.failed(error))
    }

    func wait(_ delay: Duration) {
        phase = .waiting
        publish(.waiting(delay: delay, attempt: failures))
        phaseTimer = schedule(after: delay) { [self] in attempt() }
    }

    /// Cancelled while a session is open: BYE, then wait briefly for `BYE bye` or the close.
    func leave() {
        guard let connection else {
            finish(.cancelled)
            return
        }
        beatTimer?.cancel()
        silenceTimer?.cancel()
        phaseTimer?.cancel()
        phase = .leaving
        do {
            guard case .done = try connection.send(Self.bye) else {
                finish(.cancelled)
                return
            }
        } catch {
            finish(.cancelled)
            return
        }
        phaseTimer = schedule(after: configuration.byeTimeout) { [self] in finish(.cancelled) }
    }

    func finish(_ stop: Stop) {
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

    func tearDown() {
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
}
