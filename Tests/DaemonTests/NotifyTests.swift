import Foundation
import Glibc
// sd_notify as systemd would receive it (DESIGN §6): the daemon runs with NOTIFY_SOCKET naming a
// datagram socket the test holds, and the test reads READY, STATUS, RELOADING, STOPPING and WATCHDOG.
import TestSupport
import Testing

@Suite struct NotifyTests {
    @Test func readyStatusReloadingAndStopping() async throws {
        let notify = try NotifySocket()
        let daemon = try await Daemon(environment: ["NOTIFY_SOCKET": notify.path])
        let ready = try #require(await notify.waitFor { $0 == "READY=1" })
        #expect(notify.value("MAINPID", at: ready) == "\(daemon.process.processIdentifier)")

        let client = try await identifiedClient("counted", port: daemon.port)
        let status = await notify.waitFor(after: ready) { $0.hasPrefix("STATUS=1 clients") }
        #expect(status != nil, "datagrams: \(notify.received)")
        withExtendedLifetime(client) {}

        let before = monotonicMicroseconds()
        daemon.signal(SIGHUP)
        let reloading = try #require(await notify.waitFor(after: ready + 1) { $0 == "RELOADING=1" })
        let after = monotonicMicroseconds()
        let stamp = try #require(notify.value("MONOTONIC_USEC", at: reloading).flatMap { UInt64($0) })
        #expect(stamp >= before && stamp <= after)
        #expect(await notify.waitFor(after: reloading + 1) { $0 == "READY=1" } != nil)

        daemon.signal(SIGTERM)
        #expect(await notify.waitFor(after: reloading + 1) { $0 == "STOPPING=1" } != nil)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test func readyAgainAfterAFailedReload() async throws {
        let notify = try NotifySocket()
        let daemon = try await Daemon(
            config: "[heartbeat]\ninterval = \"10s\"\n", environment: ["NOTIFY_SOCKET": notify.path])
        let ready = try #require(await notify.waitFor { $0 == "READY=1" })
        try daemon.rewriteConfig("[heartbeat]\ninterval = \"ten seconds\"\n")
        daemon.signal(SIGHUP)
        let reloading = try #require(await notify.waitFor(after: ready + 1) { $0 == "RELOADING=1" })
        #expect(await notify.waitFor(after: reloading + 1) { $0 == "READY=1" } != nil)
        #expect(await daemon.waitForLog("reload failed", "heartbeat.interval") != nil)
        #expect(daemon.isRunning)
    }

    @Test func watchdogIsFedRepeatedly() async throws {
        let notify = try NotifySocket()
        // WATCHDOG_USEC = 200 ms: the daemon pings every 100 ms. WATCHDOG_PID is unset (any pid may ping).
        let daemon = try await Daemon(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        var start = 0
        for _ in 0..<5 {
            let index = try #require(
                await notify.waitFor(after: start) { $0 == "WATCHDOG=1" }, "datagrams: \(notify.received)")
            start = index + 1
        }
        #expect(daemon.isRunning)
    }
}

private func monotonicMicroseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
}
