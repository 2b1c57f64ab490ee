import Foundation
// Limits against the real daemon (DESIGN §8): max_clients, max_clients_per_address, and the client
// that never reads its replies.
import TestSupport
import Testing

@Suite struct LimitsTests {
    @Test func maxClientsAnswersServerFull() async throws {
        let daemon = try await Daemon(config: "[limits]\nmax_clients = 2\n")
        let first = try await identifiedClient("one", port: daemon.port)
        let second = try await identifiedClient("two", port: daemon.port)
        let third = try Client(port: daemon.port, source: "127.0.0.3")
        #expect(await third.readLine() == "ERR server-full")
        #expect(await third.isClosedByServer())
        let line = try #require(await daemon.sessionLine("closed", of: third))
        #expect(field("reason", in: line) == "overload")
        // The ones already in are not disturbed; once one leaves there is room again.
        second.send("PING\n")
        #expect(await second.readLine() == "PONG")
        first.send("BYE\n")
        #expect(await first.readLine() == "BYE bye")
        #expect(await daemon.sessionLine("offline", of: first) != nil)
        _ = try await identifiedClient("three", port: daemon.port)
    }

    @Test func maxClientsPerAddressAnswersServerFull() async throws {
        let daemon = try await Daemon(config: "[limits]\nmax_clients_per_address = 2\n")
        let first = try await identifiedClient("a1", port: daemon.port)
        let second = try await identifiedClient("a2", port: daemon.port)
        let third = try Client(port: daemon.port)
        #expect(await third.readLine() == "ERR server-full")
        #expect(await third.isClosedByServer())
        let line = try #require(await daemon.sessionLine("closed", of: third))
        #expect(field("reason", in: line) == "overload")
        // Another address has its own count.
        let elsewhere = try Client(port: daemon.port, source: "127.0.0.2")
        elsewhere.send("HELLO b1\n")
        #expect(await elsewhere.readLine() == "OK b1 interval=10000 timeout=30000")
        for client in [first, second] {
            client.send("PING\n")
            #expect(await client.readLine() == "PONG")
        }
    }

    @Test func clientThatNeverReadsIsReapedForOverload() async throws {
        let daemon = try await Daemon()
        // A small receive buffer (no autotuning) so the daemon's replies pile up quickly.
        let greedy = try Client(port: daemon.port, receiveBuffer: 4096)
        greedy.send("HELLO greedy\n")
        #expect(await greedy.readLine() == "OK greedy interval=10000 timeout=30000")
        let pings = String(repeating: "PING\n", count: 1000)
        // Without reading a reply: the daemon's send buffer (~16 KiB) and ours fill, then unsent
        // bytes exceed max_line and the daemon gives up on us. The send fails once it has.
        for _ in 0..<200 {
            guard greedy.send(pings) else { break }
            if daemon.lines(containing: "reason=overload").isEmpty == false { break }
        }
        let line = try #require(await daemon.sessionLine("offline", of: greedy))
        #expect(field("reason", in: line) == "overload")
        #expect(field("client.id", in: line) == "greedy")
        // Others are still served.
        let polite = try await identifiedClient("polite", port: daemon.port)
        polite.send("PING\n")
        #expect(await polite.readLine() == "PONG")
    }

    @Test func acceptPausesInsteadOfSpinningWhenOutOfDescriptors() async throws {
        let prlimit = "/usr/bin/prlimit"
        try #require(FileManager.default.isExecutableFile(atPath: prlimit), "\(prlimit) is missing (util-linux)")
        let place = ControlPlace()
        let daemon = try await Daemon(config: place.config(), launcher: [prlimit, "--nofile=64:64", "--"])
        // More connections than descriptors: the kernel completes them all, the daemon cannot accept them all.
        var clients: [Client] = []
        for number in 0..<90 {
            let client = try Client(port: daemon.port)
            client.send("HELLO fd-\(number)\n")
            clients.append(client)
        }
        let failed = try #require(await daemon.waitForLog("accept failed", "EMFILE"))
        #expect(field("event", in: failed) == "overload")
        // The control socket cannot accept either (a heartbeatctl, or another daemon probing whether the
        // socket is served): it pauses like the workers' listeners instead of waking the loop forever.
        let operators = try (0..<3).map { _ in try ControlSocket(path: place.socket) }
        #expect(await daemon.waitForLog("control: accept failed", "EMFILE") != nil)
        // Paused, not spinning: a loop that retried accept on every turn would never sleep. Every thread
        // of the daemon is seen asleep at once, a worker among them waiting in epoll_wait; and the
        // failure is logged at a limited rate, not once per attempt.
        #expect(await eventually { daemonIsAsleep(pid: daemon.process.processIdentifier) })
        #expect(daemon.lines(containing: "accept failed").count <= 5)
        #expect(daemon.lines(containing: "control: accept failed").count <= 2)
        withExtendedLifetime(operators) {}
        // The connections the daemon accepted before it ran out are answered; the rest wait.
        var answered: [Int] = []
        #expect(
            await eventually {
                for (number, client) in clients.enumerated() where !answered.contains(number) {
                    if await client.readLine(within: 0) != nil { answered.append(number) }
                }
                return answered.count >= daemon.sessionCount("online")
            })
        let waiting = clients.indices.filter { !answered.contains($0) }
        #expect(!answered.isEmpty && !waiting.isEmpty, "answered \(answered.count), waiting \(waiting.count)")
        // Room again: the connections that waited in the backlog are accepted once descriptors free up.
        for number in answered { clients[number].closeSocket() }
        for number in waiting.prefix(answered.count / 2) {
            #expect(await clients[number].readLine() == "OK fd-\(number) interval=10000 timeout=30000")
        }
    }
}

/// Whether every thread of `pid` is sleeping (state S) and a worker thread is blocked in epoll_wait,
/// from /proc/<pid>/task/*/stat and /syscall. A thread that spins is in state R, never all asleep.
private func daemonIsAsleep(pid: Int32) -> Bool {
    let taskDirectory = "/proc/\(pid)/task"
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: taskDirectory), !tasks.isEmpty else {
        return false
    }
    var workerWaits = false
    for task in tasks {
        guard let stat = try? String(contentsOfFile: "\(taskDirectory)/\(task)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return false }
        guard state == "S" else { return false }
        let name = (try? String(contentsOfFile: "\(taskDirectory)/\(task)/comm", encoding: .utf8)) ?? ""
        let call =
            (try? String(contentsOfFile: "\(taskDirectory)/\(task)/syscall", encoding: .utf8))?
            .split(separator: " ").first.map(String.init) ?? ""
        if name.hasPrefix("hb-worker"), epollWaitCalls.contains(call) { workerWaits = true }
    }
    return workerWaits
}

/// The numbers of epoll_wait, epoll_pwait and epoll_pwait2 as /proc/<tid>/syscall shows them.
#if arch(x86_64)
    private let epollWaitCalls: Set<String> = ["232", "281", "441"]
#else
    private let epollWaitCalls: Set<String> = ["22", "441"]
#endif
