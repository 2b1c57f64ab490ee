// A reconnect storm must not flood the log: past the per-second budget, session lines are counted
// and summarised once a second instead of written one by one.
import TestSupport
import Testing

@Suite struct LogStormTests {
    @Test func aReconnectStormIsSummarisedNotWrittenLineByLine() async throws {
        let daemon = try await Daemon()
        for number in 0..<400 {
            let client = try await identifiedClient("storm-\(number)", port: daemon.port)
            client.closeSocket()
        }
        // Every online and offline is accounted for, written or held back...
        let counted = await eventually(within: 10) {
            daemon.sessionCount("online") == 400 && daemon.sessionCount("offline", reason: "eof") == 400
        }
        #expect(
            counted, "online \(daemon.sessionCount("online")), offline \(daemon.sessionCount("offline", reason: "eof"))"
        )
        // ...but most of them only as counts in a summary line.
        let written = daemon.lines.filter { field("event", in: $0) == "online" || field("event", in: $0) == "offline" }
            .count
        #expect(written < 800, "the budget should have held lines back, but \(written) were written")
        #expect(!daemon.lines(containing: "session lines held back").isEmpty)
    }
}
