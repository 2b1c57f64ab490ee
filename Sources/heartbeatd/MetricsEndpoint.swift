// `[metrics] listen`: Prometheus text at `GET /metrics`, served by the supervisor's event loop (not a
// worker's: a scrape must not delay a heartbeat). One request per connection; anything else is 404 or
// 405; a request over 8 KiB, or not complete within a second, is closed without an answer.
import EventLoop
import HeartbeatConfig
import Logging
import Posix
import Prometheus
import ServerCore

final class MetricsEndpoint {
    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    static let maxRequest = 8 * 1024
    static let requestTimeout: UInt64 = 1_000_000_000
    /// Once answered, a scraper gets this long to take the answer.
    static let responseTimeout: UInt64 = 5_000_000_000
    /// Scrapers at once; more are closed at accept. Prometheus uses one, a person with curl another.
    static let maxConnections = 16

    /// The address as bound ("127.0.0.1:9464", the real port when the config said 0).
    let address: String
    private let loop: EventLoop
    private let server: Server
    private let logger: Logger
    private var listener: Socket?
    private let listenerID: DescriptorID
    private let boundAddress: SocketAddress
    private var connectionHandler: EventLoop.HandlerID!
    /// A connection's timer carries its serial in the high 32 bits and its descriptor number below: a
    /// timer that outlives its connection finds another serial, or none, and does nothing.
    private var timer: EventLoop.TimerHandlerID!
    private var connections: [Int: Connection] = [:]
    private var nextSerial: UInt64 = 1
    private var exposition = MetricsExposition()
    private var readBuffer = [UInt8](repeating: 0, count: maxRequest + 1)

    /// One scrape: the request as it arrives, then the answer as it leaves.
    private final class Connection {
        var socket: Socket?
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        /// When the connection is closed: first the request's deadline, then the answer's.
        var deadline: UInt64 = 0
        let serial: UInt64
        init(socket: consuming Socket, serial: UInt64) {
            self.socket = .some(socket)
            self.serial = serial
        }
    }

    /// Binds `listen` now, so a taken port stops the daemon before READY=1.
    init(listen: ListenAddress, loop: EventLoop, server: Server, logger: Logger) throws(SystemError) {
        guard let socketAddress = SocketAddress(host: listen.host, port: listen.port) else {
            throw SystemError(call: "inet_pton(\(listen.host))", errno: .invalidArgument)
        }
        let socket = try Socket.listen(on: socketAddress, reusePort: false, backlog: 64)
        boundAddress = try socket.localAddress()
        address = "\(boundAddress)"
        listenerID = socket.id
        listener = .some(socket)
        self.loop = loop
        self.server = server
        self.logger = logger
        connectionHandler = loop.addHandler { [unowned self] descriptor, readiness in
            self.connectionReady(descriptor, readiness)
        }
        timer = loop.addTimerHandler { [unowned self] payload in self.expired(payload) }
        let acceptHandler = loop.addHandler { [unowned self] _, _ in self.acceptReady() }
        try loop.register(listenerID, interest: .readable, handler: acceptHandler)
    }

    /// A timer of this endpoint's ran out: the connection took too long.
    private func expired(_ payload: UInt64) {
        let index = Int(UInt32(truncatingIfNeeded: payload))
        guard let connection = connections[index], payload == timerPayload(connection, index) else { return }
        // The request's timer of an answered connection: the answer's own deadline is later.
        guard loop.now >= connection.deadline else { return }
        close(index)
    }

    // MARK: Connections

    private func acceptReady() {
        while true {
            var peer = boundAddress
            let accepted: Socket?
            do {
                accepted = try listener?.accept(peer: &peer) ?? nil
            } catch {
                // EMFILE and the like: the next scrape tries again; the listener stays level-triggered.
                logger.warning("metrics: accept failed: \(error)")
                return
            }
            guard let socket = accepted else { return }
            guard connections.count < Self.maxConnections else {
                socket.close()
                continue
            }
            let index = socket.id.index
            let connection = Connection(socket: socket, serial: nextSerial)
            nextSerial = (nextSerial + 1) & 0xFFFF_FFFF
            do {
                try loop.register(DescriptorID(number: Int32(index)), interest: [.readable, .peerClosed], handler: connectionHandler)
            } catch {
                if let socket = connection.socket.take() { socket.close() }
                continue
            }
            connections[index] = connection
            connection.deadline = loop.now + Self.requestTimeout
            _ = loop.arm(timer, timerPayload(connection, index), at: connection.deadline)
        }
    }

    private func connectionReady(_ descriptor: DescriptorID, _ readiness: Readiness) {
        guard let connection = connections[descriptor.index] else { return }
        if !connection.response.isEmpty {
            flush(descriptor.index, connection)
            return
        }
        if readiness.contains(.error) {
            close(descriptor.index)
            return
        }
        let result = readBuffer.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in try connection.socket?.read(into: buffer) ?? .done(0) }
        }
        guard case .success(let read) = result, case .done(let count) = read else {
            if case .failure = result { close(descriptor.index) }
            return
        }
        guard count > 0 else {
            close(descriptor.index)
            return
        }
        connection.request.append(contentsOf: readBuffer[..<count])
        if connection.request.count > Self.maxRequest {
            close(descriptor.index)
            return
        }
        guard let head = HTTPRequestHead(connection.request) else { return }
        answer(descriptor.index, connection, head)
    }

    private func answer(_ index: Int, _ connection: Connection, _ head: HTTPRequestHead) {
        let response: [UInt8]
        switch head.route {
        case .metrics:
            let body = exposition.text(server.snapshot(), workers: server.workerCount)
            response = httpResponse("200 OK", contentType: MetricsExposition.contentType, body: body)
        case .wrongMethod:
            response = httpResponse("405 Method Not Allowed", headers: "Allow: GET\r\n", body: Array("only GET /metrics\n".utf8))
        case .notFound:
            response = httpResponse("404 Not Found", body: Array("only GET /metrics\n".utf8))
        case .malformed:
            response = httpResponse("400 Bad Request", body: Array("bad request\n".utf8))
        }
        connection.request = []
        connection.response = response
        connection.deadline = loop.now + Self.responseTimeout
        _ = loop.arm(timer, timerPayload(connection, index), at: connection.deadline)
        flush(index, connection)
    }

    /// Sends what the kernel takes; waits for EPOLLOUT for the rest; closes when all is sent.
    private func flush(_ index: Int, _ connection: Connection) {
        let result = connection.response[connection.sent...].withUnsafeBytes { bytes in
            Result { () throws(SystemError) in try connection.socket?.send(bytes) ?? .done(0) }
        }
        switch result {
        case .failure:
            close(index)
        case .success(.wouldBlock):
            try? loop.modify(DescriptorID(number: Int32(index)), interest: [.writable])
        case .success(.done(let count)):
            connection.sent += count
            if connection.sent >= connection.response.count {
                close(index)
            } else {
                try? loop.modify(DescriptorID(number: Int32(index)), interest: [.writable])
            }
        }
    }

    private func close(_ index: Int) {
        guard let connection = connections.removeValue(forKey: index) else { return }
        guard let socket = connection.socket.take() else { return }
        loop.unregister(socket.id)
        socket.shutdownWrite()
        socket.close()
    }

    private func timerPayload(_ connection: Connection, _ index: Int) -> UInt64 {
        connection.serial << 32 | UInt64(UInt32(truncatingIfNeeded: index))
    }

    private func httpResponse(_ status: String, contentType: String = "text/plain; charset=utf-8", headers: String = "", body: [UInt8]) -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Connection: close\r\n\(headers)\r\n"
        return Array(head.utf8) + body
    }
}

/// The first line of an HTTP/1.x request, once the whole head (up to the blank line) is in.
struct HTTPRequestHead {
    enum Route: Equatable { case metrics, wrongMethod, notFound, malformed }
    let route: Route

    /// nil while the head is incomplete.
    init?(_ bytes: [UInt8]) {
        guard let end = Self.endOfHead(bytes) else { return nil }
        let lineEnd = bytes[..<end].firstIndex(of: UInt8(ascii: "\n")) ?? end
        var line = bytes[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let words = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard words.count == 3, let version = String(validating: words[2], as: UTF8.self),
              version == "HTTP/1.1" || version == "HTTP/1.0",
              let target = String(validating: words[1], as: UTF8.self), target.hasPrefix("/")
        else {
            route = .malformed
            return
        }
        // Prometheus sends no query; one is ignored rather than refused.
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if path != "/metrics" {
            route = .notFound
        } else if !words[0].elementsEqual("GET".utf8) {
            route = .wrongMethod
        } else {
            route = .metrics
        }
    }

    /// The index just past the blank line ending the head ("\r\n\r\n", or a bare "\n\n"), or nil.
    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        var newlines = 0
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "\n"):
                newlines += 1
                if newlines == 2 { return index + 1 }
            case UInt8(ascii: "\r"):
                continue
            default:
                newlines = 0
            }
        }
        return nil
    }
}

/// The text of one scrape. Counters and gauges go through a swift-prometheus registry, refreshed from
/// the workers' counters at scrape time (pull: nothing is recorded on the heartbeat path for them).
/// The loop-turn histogram is written here in the same text format, from TurnHistogram's buckets:
/// swift-prometheus's Histogram only takes one observation at a time, under a lock (see TurnHistogram).
///
/// swift-metrics is not used: it is a facade for code that records as things happen, which no code
/// here does, and its API cannot carry the HELP texts the registry takes.
struct MetricsExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let registry = PrometheusCollectorRegistry()
    private let clients: Gauge
    private let connections: Gauge
    private let workers: Gauge
    private let sessions: Counter
    private let heartbeats: Counter
    private let authFailures: Counter
    private let reaps: [Reason: Counter]
    private var acceptErrors: [String: Counter] = [:]

    init() {
        clients = registry.makeGauge(descriptor: Self.name("clients_connected", help: "Clients identified by HELLO and connected now."))
        connections = registry.makeGauge(
            descriptor: Self.name("connections_open", help: "Open client connections, identified or not yet."))
        workers = registry.makeGauge(descriptor: Self.name("workers", help: "Worker threads, each with its own event loop."))
        sessions = registry.makeCounter(descriptor: Self.name("sessions", unit: "total", help: "Client connections accepted."))
        heartbeats = registry.makeCounter(
            descriptor: Self.name("heartbeats", unit: "total", help: "Lines received from identified clients (PING and others)."))
        authFailures = registry.makeCounter(
            descriptor: Self.name("auth_failures", unit: "total", help: "HELLOs refused with ERR auth-failed (wrong or missing token)."))
        var reaps: [Reason: Counter] = [:]
        let reapName = Self.name("reaps", unit: "total", help: "Sessions ended, by reason.")
        for reason in Reason.allCases {
            reaps[reason] = registry.makeCounter(descriptor: reapName, labels: [("reason", reason.rawValue)])
        }
        self.reaps = reaps
        registry.makeGauge(
            descriptor: Self.name("build_info", help: "Always 1; the version is in the label."),
            labels: [("version", heartbeatdVersion)]
        ).set(to: 1)
    }

    private static func name(_ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "heartbeatd", metricName: metric, unitName: unit, helpText: help)
    }

    mutating func text(_ snapshot: Snapshot, workers workerCount: Int) -> [UInt8] {
        clients.set(Double(snapshot.identified))
        connections.set(Double(snapshot.connected))
        workers.set(Double(workerCount))
        set(sessions, snapshot.sessionsTotal)
        set(heartbeats, snapshot.heartbeats)
        set(authFailures, snapshot.authFailures)
        for (reason, counter) in reaps { set(counter, snapshot.reaps[reason] ?? 0) }
        for (name, count) in snapshot.acceptErrors {
            if acceptErrors[name] == nil {
                acceptErrors[name] = registry.makeCounter(
                    descriptor: Self.name("accept_errors", unit: "total", help: "accept(2) failures on the client listeners, by errno."),
                    labels: [("errno", name)])
            }
            acceptErrors[name].map { set($0, count) }
        }
        var text = registry.emitToBuffer()
        appendTurnHistogram(snapshot, to: &text)
        return text
    }

    /// A Counter only goes up by increments; the workers' totals are absolute, so start from zero.
    /// Safe: the supervisor's loop is the only thread that touches the registry.
    private func set(_ counter: Counter, _ value: UInt64) {
        counter.reset()
        counter.increment(by: Int64(clamping: value))
    }

    private func appendTurnHistogram(_ snapshot: Snapshot, to text: inout [UInt8]) {
        let name = "heartbeatd_loop_turn_seconds"
        var lines = "# HELP \(name) Time a worker's event loop spends per turn between two waits.\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        for (bucket, bound) in TurnHistogram.bounds.enumerated() {
            cumulative += bucket < snapshot.turnCounts.count ? snapshot.turnCounts[bucket] : 0
            lines += "\(name)_bucket{le=\"\(seconds(bound))\"} \(cumulative)\n"
        }
        cumulative += snapshot.turnCounts.last ?? 0
        lines += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        lines += "\(name)_sum \(seconds(snapshot.turnNanoseconds))\n"
        lines += "\(name)_count \(cumulative)\n"
        text.append(contentsOf: lines.utf8)
    }

    /// Nanoseconds as decimal seconds without float rounding noise: 2_500_000 → "0.0025".
    private func seconds(_ nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        guard fraction > 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
