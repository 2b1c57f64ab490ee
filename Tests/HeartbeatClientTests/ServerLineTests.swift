// Decoding the server's lines: OK, PONG, ERR, BYE, and what is none of them.
@testable import HeartbeatClient
import Testing

@Suite struct ServerLineTests {
    @Test func decodesEachKind() {
        #expect(ServerLine("OK web-7 interval=10000 timeout=30000") == .ok(id: "web-7", intervalMS: 10_000, timeoutMS: 30_000))
        #expect(ServerLine("PONG") == .pong(tag: nil))
        #expect(ServerLine("PONG 42") == .pong(tag: "42"))
        #expect(ServerLine("ERR auth-failed") == .error(code: "auth-failed", detail: ""))
        #expect(ServerLine("ERR bad-hello id has byte '/'") == .error(code: "bad-hello", detail: "id has byte '/'"))
        #expect(ServerLine("BYE replaced") == .bye(reason: "replaced"))
        #expect(ServerLine("BYE") == .bye(reason: ""))
    }

    @Test(arguments: ["", "ok web-7 interval=1 timeout=3", "OK web-7 interval=1", "OK web-7 timeout=3 interval=1", "OK web-7 interval=x timeout=3", "PONG a b", "ERR", "HELLO x"])
    func rejects(text: String) {
        #expect(ServerLine(text[...]) == nil)
    }
}
