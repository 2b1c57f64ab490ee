// The wire protocol as a client sees it, against the real daemon over loopback.
import Testing

@Suite struct ProtocolTests {
    @Test func helloPingAndUnknownCommand() throws {
        let daemon = try Daemon()
        let client = try Client(port: daemon.port)
        client.send("HELLO dev-1 interval=2000\n")
        #expect(client.readLine() == "OK dev-1 interval=2000 timeout=6000")
        client.send("PING abc\nPING\nSTATUS now\n")
        #expect(client.readLine() == "PONG abc")
        #expect(client.readLine() == "PONG")
        #expect(client.readLine() == "ERR unknown-command STATUS")
        client.send("BYE\n")
        #expect(client.readLine() == "BYE bye")
        #expect(client.isClosedByServer())
    }
}
