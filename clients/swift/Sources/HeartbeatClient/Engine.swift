// One client's life as a state machine on a serial dispatch queue: connect, HELLO, beat, notice a
// silent server, back off with jitter, reconnect, leave with BYE. Every event is a closure on that
// queue, so the state needs no lock; late events from an abandoned attempt are dropped.
import Dispatch
import Logging
import Posix
import WireProtocol

final class Engine: @unchecked Sendable {
    // @unchecked: every mutable field is read and written only on `queue`, which is serial. The fields
    // are internal so that the phases in Engine+*.swift can reach them; nothing else in the module does.

    enum Phase {
        case idle, connecting, greeting, identified, leaving, waiting, stopped
    }

    let configuration: Configuration
    let helloLine: [UInt8]
    let queue: DispatchQueue
    let logger: Logger
    let randomFraction: @Sendable () -> Double
    let publish: @Sendable (State) -> Void

    var phase = Phase.idle
    var isStopRequested = false
    var completion: (@Sendable (Result<Void, HeartbeatClientError>) -> Void)?
    /// Failed attempts since the backoff was last reset: the next backoff's attempt number.
    var failures = 0
    /// Bumped whenever a connection attempt is abandoned, so a late resolver answer is dropped.
    var epoch: UInt64 = 0

    var connection: Connection?
    var addresses: [SocketAddress] = []
    var lastConnectFailure = ""
    var grant: Grant?
    var connectedAt: ContinuousClock.Instant?
    var lastHeard = ContinuousClock.now
    var nextBeat = ContinuousClock.now
    var readBuffer = [UInt8](repeating: 0, count: 4096)

    // The timer of the current phase (connect timeout, backoff sleep or BYE grace), the beat, and
    // the silence check. Each is a work item on `queue`, cancelled on the queue before it can run.
    var phaseTimer: DispatchWorkItem?
    var beatTimer: DispatchWorkItem?
    var silenceTimer: DispatchWorkItem?

    static let ping: [UInt8] = {
        var line: [UInt8] = []
        RequestLine.appendPing(to: &line)
        return line
    }()
    static let bye: [UInt8] = {
        var line: [UInt8] = []
        RequestLine.appendBye(to: &line)
        return line
    }()

    init(
        configuration: Configuration, helloLine: [UInt8], logger: Logger,
        randomFraction: @escaping @Sendable () -> Double, publish: @escaping @Sendable (State) -> Void
    ) {
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

    func schedule(after delay: Duration, _ body: @escaping () -> Void) -> DispatchWorkItem {
        let item = DispatchWorkItem(block: body)
        let nanoseconds = max(0, delay.nanoseconds)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds)), execute: item)
        return item
    }
}
