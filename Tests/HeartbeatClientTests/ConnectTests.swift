// Connecting where users are: a name whose first address black-holes SYNs and whose second is live
// (Happy Eyeballs reaches the live one within the connect timeout), and a DNS that never answers (no thread
// per stuck lookup, other tasks undisturbed, a resolution error with its code). The addresses come from a
// scripted NIO Resolver handed to the bootstrap: /etc/hosts is not ours to edit.
import Foundation
import Glibc
import HeartbeatClient
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// A resolver that answers A queries from a list, or never (nil); AAAA queries get no address.
final class ScriptedResolver: Resolver, Sendable {
    private let loop: any EventLoop
    private let addresses: [SocketAddress]?
    private let pending = Mutex<[EventLoopPromise<[SocketAddress]>]>([])

    init(loop: any EventLoop, addresses: [SocketAddress]?) {
        self.loop = loop
        self.addresses = addresses
    }

    func initiateAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        guard let addresses else {
            let promise = loop.makePromise(of: [SocketAddress].self)
            pending.withLock { $0.append(promise) }
            return promise.futureResult
        }
        return loop.makeSucceededFuture(addresses)
    }

    func initiateAAAAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> {
        addresses == nil ? initiateAQuery(host: host, port: port) : loop.makeSucceededFuture([])
    }

    /// Happy Eyeballs calls this when it gives up; a promise must not be left unfulfilled.
    func cancelQueries() {
        for promise in pending.withLock({ pending in
            defer { pending = [] }
            return pending
        }) {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}

/// A loopback listener that never accepts, its queue (backlog 0) filled: the kernel drops further SYNs.
final class BlackHole: Sendable {
    let server: FakeServer
    private let fillers: [Int32]

    init() throws {
        let server = try FakeServer(backlog: 0, serves: false) { _ in .say() }
        self.server = server
        fillers = (0..<2).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = server.port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            return fd
        }
    }

    deinit { for fd in fillers { close(fd) } }
}

@Suite struct ConnectTests {
    static func configuration(
        addresses: [SocketAddress]?, timeout: Duration, id: String
    ) -> HeartbeatClient.Configuration {
        var configuration = HeartbeatClient.Configuration(
            server: Endpoint(host: "monitor.test", port: 7700), id: id, interval: .seconds(1))
        configuration.connectTimeout = timeout
        configuration.backoff = Backoff(base: .milliseconds(50), cap: .milliseconds(100))
        configuration.resolver = { loop in ScriptedResolver(loop: loop, addresses: addresses) }
        return configuration
    }

    @Test func aBlackHoledAddressAloneTimesOut() async throws {
        let hole = try BlackHole()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: Int(hole.server.port))
        let client = try HeartbeatClient(Self.configuration(addresses: [address], timeout: .seconds(1), id: "hole"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        // The hole is real: nothing connects, and the resolver did answer, so it is a timeout.
        #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil })
        #expect(recorder.states.compactMap(\.disconnect).first?.code == .timeout)
    }

    @Test func happyEyeballsPassesABlackHoledAddressToTheLiveOne() async throws {
        let daemon = try await Daemon()
        defer { daemon.stop() }
        let hole = try BlackHole()
        let addresses = [
            try SocketAddress(ipAddress: "127.0.0.1", port: Int(hole.server.port)),
            try SocketAddress(ipAddress: "127.0.0.1", port: Int(daemon.port)),
        ]
        // Tried one after another under one deadline, the first address would use up all of it (the old
        // client's fault); Happy Eyeballs starts the second 250 ms after the first.
        let client = try HeartbeatClient(Self.configuration(addresses: addresses, timeout: .seconds(2), id: "eyeballs"))
        let recorder = StateRecorder(client)
        let run = Task { try await client.run() }
        defer { run.cancel() }
        #expect(await recorder.wait(upTo: 30) { $0.isConnected || $0.disconnect != nil })
        #expect(recorder.states.contains { $0.disconnect != nil } == false, "\(recorder.states)")
        #expect(
            recorder.states.contains {
                if case .connected(let grant) = $0 { grant.address == "127.0.0.1:\(daemon.port)" } else { false }
            })
    }

    @Test func aDNSThatNeverAnswersCostsNoThreadsAndDelaysNothing() async throws {
        let configuration = Self.configuration(addresses: nil, timeout: .seconds(1), id: "no-dns")
        func stuck(_ count: Int) throws -> [(StateRecorder, Task<Void, any Error>)] {
            try (0..<count).map { _ in
                let client = try HeartbeatClient(configuration)
                return (StateRecorder(client), Task { try await client.run() })
            }
        }
        let first = try stuck(1)
        #expect(await first[0].0.wait(upTo: 20) { $0.isConnecting })
        let before = threadCount()
        let many = try stuck(40)
        defer { for (_, run) in first + many { run.cancel() } }
        for (recorder, _) in many { #expect(await recorder.wait(upTo: 20) { $0.isConnecting }) }
        // An unrelated sleep completes while 41 lookups hang.
        try await Task.sleep(for: .milliseconds(100))
        // The old client held a blocked thread per lookup (1 → 15 threads); here a lookup is a promise. Other
        // suites run beside this one, so allow them a few threads.
        #expect(threadCount() < before + 10, "threads: \(before) → \(threadCount())")
        for (recorder, _) in first + many {
            #expect(await recorder.wait(upTo: 30) { $0.disconnect != nil })
            #expect(recorder.states.compactMap(\.disconnect).first?.code == .resolution)
        }
    }
}

/// The threads of this process, from /proc/self/status.
func threadCount() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(cString: line)
        if text.hasPrefix("Threads:") {
            return Int(text.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
    }
    return -1
}
