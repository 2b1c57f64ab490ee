// The microbenchmarks: timer wheel against a binary heap at 1k, 100k and 1M timers; framing and
// parsing of the lines a server sees most; one PING → PONG through a running ServerCore worker.
// Malloc counts come from the MallocInterposer trait and cover every thread of the process.
import Benchmark
import Glibc
import HeartbeatConfig
import Logging
import Posix
import ServerCore
import TimerWheel
import WireProtocol

let benchmarks: @Sendable () -> Void = {
    let timerMetrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .peakMemoryResident]

    for count in [1_000, 100_000, 1_000_000] {
        let workload = TimerWorkload(count: count)
        let configuration = Benchmark.Configuration(
            metrics: timerMetrics, warmupIterations: 1,
            maxDuration: .seconds(count >= 1_000_000 ? 20 : 5), maxIterations: count >= 1_000_000 ? 10 : 200
        )

        // Arm N, cancel every second one, advance 100 ms at a time until all have fired.
        Benchmark("TimerWheel arm+cancel+advance \(count)", configuration: configuration) { benchmark in
            var wheel = TimerWheel(tick: TimerWorkload.tick, slots: 4096, now: 0)
            var handles: [TimerHandle] = []
            handles.reserveCapacity(count)
            var expired: [TimerExpiry] = []
            expired.reserveCapacity(count)
            benchmark.startMeasurement()
            for (index, deadline) in workload.deadlines.enumerated() {
                handles.append(wheel.arm(UInt64(index), at: deadline))
            }
            for index in stride(from: 0, to: count, by: 2) { _ = wheel.cancel(handles[index]) }
            var now: UInt64 = 0
            while now <= TimerWorkload.span + TimerWorkload.tick {
                now += TimerWorkload.tick
                wheel.advance(to: now, into: &expired)
            }
            benchmark.stopMeasurement()
            precondition(expired.count == count / 2, "wheel fired \(expired.count) of \(count / 2)")
            blackHole(expired)
        }

        Benchmark("BinaryHeap arm+cancel+advance \(count)", configuration: configuration) { benchmark in
            var heap = BinaryHeapTimers()
            heap.reserve(count)
            var handles: [Int] = []
            handles.reserveCapacity(count)
            var expired: [UInt64] = []
            expired.reserveCapacity(count)
            benchmark.startMeasurement()
            for (index, deadline) in workload.deadlines.enumerated() {
                handles.append(heap.arm(UInt64(index), at: deadline))
            }
            for index in stride(from: 0, to: count, by: 2) { heap.cancel(handles[index]) }
            var now: UInt64 = 0
            while now <= TimerWorkload.span + TimerWorkload.tick {
                now += TimerWorkload.tick
                heap.advance(to: now, into: &expired)
            }
            benchmark.stopMeasurement()
            precondition(expired.count == count / 2, "heap fired \(expired.count) of \(count / 2)")
            blackHole(expired)
        }
    }

    // Framing and parsing, as a worker does it: lines found in one buffer and parsed in place. A sample
    // is 1000 lines (scaling factor kilo); the tool reports time, throughput and mallocs per line.
    let parseConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo)
    for (name, line) in [
        ("PING", "PING\n"), ("PING tag", "PING 1700000000123\n"),
        ("HELLO", "HELLO web-7.eu_west interval=10000 token=3f2a9c\n"),
    ] {
        let bytes = Array(String(repeating: line, count: 1_000).utf8)
        Benchmark("Framing+Parser \(name)", configuration: parseConfiguration) { benchmark in
            bytes.withUnsafeBytes { buffer in
                var start = 0
                var parsed = 0
                for _ in benchmark.scaledIterations {
                    guard
                        case .line(let range, let next) = Framing.next(
                            in: buffer, from: start, maxLine: Framing.defaultMaxLine)
                    else {
                        preconditionFailure("no line at \(start)")
                    }
                    if let request = try? Parser.parse(buffer, line: range) { blackHole(request) }
                    parsed += 1
                    start = next == buffer.count ? 0 : next
                }
                blackHole(parsed)
            }
        }
    }

    // One heartbeat through the server core: a real Server with one worker on 127.0.0.1, a blocking
    // client socket in this thread; per iteration one "PING\n" written and one "PONG\n" read back.
    // The malloc count covers the worker's thread too: zero means the heartbeat path allocates nothing.
    Benchmark(
        "ServerCore PING→PONG over loopback",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .syscalls, .contextSwitches], warmupIterations: 100,
            maxDuration: .seconds(5), maxIterations: 20_000)
    ) { benchmark, connection in
        for _ in benchmark.scaledIterations { connection.heartbeat() }
    } setup: {
        try LoopbackSession.start()
    }
}

/// A server with one worker and one identified client connection to it.
final class LoopbackSession: @unchecked Sendable {
    // @unchecked: used by the benchmark's one thread; the server runs on its own worker thread.
    private let server: Server
    private let fd: Int32
    private var reply = [UInt8](repeating: 0, count: 64)

    static func start() throws -> LoopbackSession {
        // The config file's defaults, as heartbeatd's Settings+Config.swift translates them.
        let config = Config.defaults
        func nanoseconds(_ duration: Duration) -> UInt64 {
            UInt64(duration.components.seconds) * 1_000_000_000
                + UInt64(duration.components.attoseconds / 1_000_000_000)
        }
        let settings = Settings(
            interval: nanoseconds(config.heartbeat.interval), intervalMin: nanoseconds(config.heartbeat.intervalMin),
            intervalMax: nanoseconds(config.heartbeat.intervalMax),
            timeoutFactor: UInt64(config.heartbeat.timeoutFactor),
            helloTimeout: nanoseconds(config.heartbeat.helloTimeout), pong: config.heartbeat.pong,
            maxLine: config.limits.maxLine, maxClients: config.limits.maxClients,
            maxClientsPerAddress: config.limits.maxClientsPerAddress, logSessions: false, logLevel: .critical,
            keepalive: TCPKeepalive(idleSeconds: 30, intervalSeconds: 10, count: 3, userTimeoutMilliseconds: 60_000),
            drainTimeout: 0
        )
        var logger = Logger(label: "heartbeatd-benchmark")
        logger.logLevel = .critical
        guard let loopback = SocketAddress(host: "127.0.0.1", port: 0) else {
            fatalError("127.0.0.1 is not an address")
        }
        let server = try Server(
            settings: settings, listen: [loopback], workers: 1, tick: nanoseconds(config.heartbeat.tick), activated: [],
            logger: logger
        )
        try server.start(onStopped: { _ in }, onFailure: { _, error in fatalError("worker failed: \(error)") })
        guard let port = server.addresses.first?.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            fatalError("no port in \(server.addresses)")
        }
        let session = LoopbackSession(server: server, fd: try connect(port: port))
        session.send("HELLO bench-1 interval=300000\n")
        session.receiveLine()
        return session
    }

    private init(server: Server, fd: Int32) {
        self.server = server
        self.fd = fd
    }

    deinit { close(fd) }

    func heartbeat() {
        send("PING\n")
        receiveLine()
    }

    private func send(_ text: StaticString) {
        let sent = Glibc.send(fd, text.utf8Start, text.utf8CodeUnitCount, Int32(MSG_NOSIGNAL))
        precondition(sent == text.utf8CodeUnitCount, "send: \(sent)")
    }

    /// Reads until a newline; the server's replies here are short single lines.
    private func receiveLine() {
        var filled = 0
        while true {
            let count = reply.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
            precondition(count > 0, "recv: \(count)")
            filled += count
            if reply[filled - 1] == 0x0A { return }
        }
    }

    private static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else { fatalError("connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
