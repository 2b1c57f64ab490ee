import Foundation
import Glibc
// `systemctl restart` without systemd: a fake fd store on NOTIFY_SOCKET keeps what the daemon stores at
// SIGTERM, and a second daemon gets it back in LISTEN_FDS. The sessions travel in flight in a carrier:
// a handful of store entries for hundreds of sessions, and every one of them is still served after.
import TestSupport
import Testing

/// What systemd's fd store would hold: each FDSTORE=1 datagram's descriptors under its FDNAME.
final class FakeStore {
    let path: String
    private let fd: Int32
    private(set) var stored: [(name: String, descriptor: Int32)] = []

    init() throws {
        path = temporaryDirectory().appendingPathComponent("store.sock").path
        fd = try datagramSocket(boundAt: path)
    }

    deinit {
        discard()
        Glibc.close(fd)
        unlink(path)
    }

    /// Reads every datagram waiting; keeps the descriptors of the FDSTORE=1 ones.
    func drain() {
        var text = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 4096)
        while true {
            let (count, descriptors) = text.withUnsafeMutableBytes { text in
                control.withUnsafeMutableBytes { control in
                    var vector = iovec(iov_base: text.baseAddress, iov_len: text.count)
                    return withUnsafeMutablePointer(to: &vector) { vector in
                        var message = msghdr()
                        message.msg_iov = vector
                        message.msg_iovlen = 1
                        message.msg_control = control.baseAddress
                        message.msg_controllen = control.count
                        let count = recvmsg(fd, &message, Int32(MSG_DONTWAIT) | Int32(MSG_CMSG_CLOEXEC))
                        var found: [Int32] = []
                        var offset = 0
                        while count > 0, offset + 16 <= message.msg_controllen {
                            let header = control.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self)
                            guard header.cmsg_len >= 16 else { break }
                            if header.cmsg_type == Int32(SCM_RIGHTS) {
                                for index in 0..<(header.cmsg_len - 16) / 4 {
                                    found.append(
                                        control.loadUnaligned(fromByteOffset: offset + 16 + index * 4, as: Int32.self))
                                }
                            }
                            offset += (header.cmsg_len + 7) / 8 * 8
                        }
                        return (count, found)
                    }
                }
            }
            guard count > 0 else { return }
            let lines = String(decoding: text[..<count], as: UTF8.self).split(separator: "\n")
            guard lines.contains("FDSTORE=1") else {
                for descriptor in descriptors { Glibc.close(descriptor) }
                continue
            }
            let name = lines.first { $0.hasPrefix("FDNAME=") }.map { String($0.dropFirst(7)) } ?? "stored"
            stored += descriptors.map { (name, $0) }
        }
    }

    /// A plain stop: systemd closes everything in the store.
    func discard() {
        for entry in stored { Glibc.close(entry.descriptor) }
        stored = []
    }
}

@Suite struct StoreRestartTests {
    /// Starts a daemon that stores with `store` at SIGTERM, with `count` clients identified.
    private func storingDaemon(_ store: FakeStore, clients count: Int) async throws -> (Daemon, [Client]) {
        let daemon = try await Daemon(
            config: "[limits]\nmax_clients = 1000\n", environment: ["NOTIFY_SOCKET": store.path, "FDSTORE": "8"])
        var clients: [Client] = []
        for number in 0..<count {
            clients.append(try await identifiedClient("kept-\(number)", port: daemon.port))
            // Read as systemd would: a full datagram queue (10 by default) would block the daemon's sd_notify.
            store.drain()
        }
        return (daemon, clients)
    }

    /// SIGTERM, reading the notifications meanwhile; the exit status.
    private func stop(_ daemon: Daemon, storingWith store: FakeStore) async -> Int32? {
        daemon.signal(SIGTERM)
        _ = await eventually(within: 20) {
            store.drain()
            return !daemon.isRunning
        }
        return await daemon.waitForExit()
    }

    @Test func sessionsGoInFlightAndASecondDaemonServesThemAll() async throws {
        let store = try FakeStore()
        // 300 sessions: two messages of at most 253 descriptors, one carrier.
        let (first, clients) = try await storingDaemon(store, clients: 300)
        #expect(await stop(first, storingWith: store) == 0)
        // The last line may still be in the pipe when the exit is seen.
        let stopped = await first.waitForLog("stopped: 300 sessions in 1 carriers and 1 listeners")
        #expect(stopped != nil, "\(first.log)")
        // Where our stop's time went: the freeze, the carriers, the state, the store.
        #expect(stopped?.contains(" ms (freeze ") == true && stopped?.contains(", store ") == true, "\(first.log)")
        store.drain()
        // `hb-session`: the worker's old epoll, still holding the sessions (closed by the successor, not at exit).
        #expect(
            store.stored.map(\.name).sorted() == ["hb-in-flight", "hb-listener", "hb-session", "hb-state"],
            "\(store.stored)")

        // The successor: the stored descriptors as 3, 4, 5 with their names, LISTEN_PID its own.
        let second = try await Daemon(
            config: "[limits]\nmax_clients = 1000\n",
            environment: [
                "LISTEN_FDS": "\(store.stored.count)",
                "LISTEN_FDNAMES": store.stored.map(\.name).joined(separator: ":"),
            ],
            launcher: ["/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""], passing: store.stored.map(\.descriptor))
        store.discard()
        let took = try #require(await second.waitForLog("took over"), "\(second.log)")
        #expect(took.contains("took over 300 sessions and 1 listeners"), "\(took)")
        // Logged once every session is back, with where the start's time went from the fork on.
        #expect(took.contains("; started in ") && took.contains(" ms from fork: exec "), "\(took)")
        #expect(took.contains(", restore ") && took.contains(" restore rounds"), "\(took)")
        #expect(took.contains("0 foreign descriptors closed"), "the old epoll is no foreign descriptor: \(took)")
        #expect(second.port == first.port)
        for (number, client) in clients.enumerated() {
            #expect(client.send("PING \(number)\n"))
            #expect(await client.readLine() == "PONG \(number)", "client \(number)")
        }
        #expect(second.sessionCount("offline") == 0)
    }

    @Test func aSuccessorWithTooFewDescriptorsSaysSoAndServesWhatFits() async throws {
        let store = try FakeStore()
        let (first, clients) = try await storingDaemon(store, clients: 300)
        #expect(await stop(first, storingWith: store) == 0)
        store.drain()
        // 540 descriptors in all, 256 of them kept for the daemon's own: room for the first message
        // (253), not the second (47), which closes with the carrier; those records come out lost.
        let second = try await Daemon(
            config: "[limits]\nmax_clients = 1000\n",
            environment: [
                "LISTEN_FDS": "\(store.stored.count)",
                "LISTEN_FDNAMES": store.stored.map(\.name).joined(separator: ":"),
            ],
            launcher: ["/usr/bin/prlimit", "--nofile=540", "/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""],
            passing: store.stored.map(\.descriptor))
        store.discard()
        let cut = try #require(await second.waitForLog("sessions in flight", "no room"), "\(second.log)")
        #expect(field("event", in: cut) == "handoff-in-flight-failed")
        let took = try #require(await second.waitForLog("took over"), "\(second.log)")
        let restored = try #require(field("restored", in: took).flatMap { Int($0) })
        let lost = try #require(field("lost", in: took).flatMap { Int($0) })
        #expect(restored == 253 && lost == 47, "\(took)")
        // Whoever arrived is served; whoever did not sees the connection end (the kernel closed it).
        var answered = 0
        for (number, client) in clients.enumerated() {
            _ = client.send("PING \(number)\n")
            if await client.readLine() == "PONG \(number)" { answered += 1 }
        }
        #expect(answered == restored)
    }

    @Test func aPlainStopClosesTheSessionsInFlight() async throws {
        let store = try FakeStore()
        let (daemon, clients) = try await storingDaemon(store, clients: 5)
        #expect(await stop(daemon, storingWith: store) == 0)
        store.drain()
        #expect(store.stored.contains { $0.name == "hb-in-flight" })
        #expect(store.stored.contains { $0.name == "hb-session" }, "the workers' old epolls")
        // Nobody takes the store: systemd closes it, and with the carrier the sockets in it. Each client
        // sees its connection end (no BYE: the daemon said nothing and is gone).
        store.discard()
        for client in clients { #expect(await client.isClosedByServer()) }
    }
}
