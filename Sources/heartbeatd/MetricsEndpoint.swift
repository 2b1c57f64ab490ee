// `[metrics] listen`: Prometheus text at `GET /metrics`, served by the supervisor's event loop (not a
// worker's: a scrape must not delay a heartbeat). One request per connection; anything else is 404 or
// 405; a request over 8 KiB, or not complete within a second, is closed without an answer.
import BufferedIO
import EventLoop
import HTTPHead
import HeartbeatConfig
import Logging
import Posix
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
    private let boundAddress: SocketAddress
    private let table: ConnectionTable
    /// The request bytes of each connection not answered yet, by descriptor number.
    private var requests: [Int: [UInt8]] = [:]
    private var exposition = MetricsExposition()
    /// More metric families, appended to every scrape (the cluster link's).
    var extraText: (() -> [UInt8])?
    private var readBuffer = [UInt8](repeating: 0, count: maxRequest + 1)
    private let pause: AcceptPause

    /// Binds `listen` now, so a taken port stops the daemon before READY=1.
    init(listen: ListenAddress, loop: EventLoop, server: Server, logger: Logger) throws(SystemError) {
        guard let socketAddress = SocketAddress(host: listen.host, port: listen.port) else {
            throw SystemError(call: "inet_pton(\(listen.host))", errno: .invalidArgument)
        }
        let socket = try Socket.listen(on: socketAddress, reusePort: false, backlog: 64)
        boundAddress = try socket.localAddress()
        address = "\(boundAddress)"
        let listenerID = socket.id
        listener = .some(socket)
        self.loop = loop
        self.server = server
        self.logger = logger
        table = ConnectionTable(loop: loop)
        pause = AcceptPause(loop: loop)
        table.onReadable = { [unowned self] connection in self.read(connection) }
        let acceptHandler = loop.addHandler { [unowned self] _, _ in self.acceptReady() }
        try loop.register(listenerID, interest: .readable, handler: acceptHandler)
    }

    // MARK: Connections

    private func acceptReady() {
        while true {
            var peer = boundAddress
            let accepted: Socket?
            do {
                accepted = try listener?.accept(peer: &peer) ?? nil
            } catch {
                pause.sideListenerFailed(error, listener: listener?.id, what: "metrics", logger: logger)
                return
            }
            guard let socket = accepted else { return }
            guard table.count < Self.maxConnections else {
                socket.close()
                continue
            }
            guard let connection = try? table.open(socket) else { continue }
            let index = connection.descriptor.index
            requests[index] = []
            connection.finishGrace = Self.responseTimeout
            connection.onClose = { [unowned self] _ in requests[index] = nil }
            // Not complete within a second: closed without an answer.
            connection.closeDeadline(at: loop.now + Self.requestTimeout)
        }
    }

    private func read(_ connection: BufferedConnection) {
        let index = connection.descriptor.index
        let result = readBuffer.withUnsafeMutableBytes { buffer in connection.read(into: buffer) }
        guard case .done(let count)? = result else { return }
        guard count > 0 else {
            connection.close(.done)
            return
        }
        requests[index, default: []].append(contentsOf: readBuffer[..<count])
        guard let request = requests[index] else { return }
        if request.count > Self.maxRequest {
            connection.close(.overflow(limit: Self.maxRequest))
            return
        }
        guard let head = HTTPRequestHead(request) else { return }
        requests[index] = nil
        answer(connection, head)
    }

    /// One answer, then close once it is out (or after `responseTimeout`).
    private func answer(_ connection: BufferedConnection, _ head: HTTPRequestHead) {
        let response: [UInt8]
        switch head.route {
        case .metrics:
            var body = exposition.text(server.snapshot(), workers: server.workerCount)
            if let extraText { body += extraText() }
            response = httpResponse("200 OK", contentType: MetricsExposition.contentType, body: body)
        case .wrongMethod:
            response = httpResponse(
                "405 Method Not Allowed", headers: "Allow: GET\r\n", body: Array("only GET /metrics\n".utf8))
        case .notFound:
            response = httpResponse("404 Not Found", body: Array("only GET /metrics\n".utf8))
        case .malformed:
            response = httpResponse("400 Bad Request", body: Array("bad request\n".utf8))
        }
        connection.finish(last: response)
    }

    private func httpResponse(
        _ status: String, contentType: String = "text/plain; charset=utf-8", headers: String = "", body: [UInt8]
    ) -> [UInt8] {
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Connection: close\r\n\(headers)\r\n"
        return Array(head.utf8) + body
    }
}
