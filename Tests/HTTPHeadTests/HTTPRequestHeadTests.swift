// The metrics endpoint's request head as a table: when a head is complete, and which route each first line
// takes. DaemonTests check the same routes over a real socket; these check the parser alone.
import HTTPHead
import Testing

@Suite struct HTTPRequestHeadTests {
    @Test(arguments: [
        ("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", HTTPRequestHead.Route.metrics),
        ("GET /metrics HTTP/1.0\r\n\r\n", .metrics),
        ("GET /metrics?name=x HTTP/1.1\n\n", .metrics),
        ("GET / HTTP/1.1\r\n\r\n", .notFound),
        ("GET /metricsx HTTP/1.1\r\n\r\n", .notFound),
        ("DELETE /other HTTP/1.1\r\n\r\n", .notFound),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", .wrongMethod),
        ("HEAD /metrics HTTP/1.1\r\n\r\n", .wrongMethod),
        ("GET /metrics\r\n\r\n", .malformed),
        ("GET  /metrics HTTP/1.1\r\n\r\n", .malformed),
        ("GET metrics HTTP/1.1\r\n\r\n", .malformed),
        ("GET /metrics HTTP/2.0\r\n\r\n", .malformed),
        ("hello\n\n", .malformed),
        ("\r\n\r\n", .malformed),
    ])
    func routeOfAWholeHead(text: String, route: HTTPRequestHead.Route) {
        #expect(HTTPRequestHead(Array(text.utf8))?.route == route)
    }

    @Test(arguments: ["", "GET /metrics HTTP/1.1\r\n", "GET /metrics HTTP/1.1\r\nHost: x\r\n", "\n\r\r"])
    func incompleteHeadIsNil(text: String) {
        #expect(HTTPRequestHead(Array(text.utf8)) == nil)
    }

    @Test func bytesThatAreNotUTF8AreMalformed() {
        let bytes: [UInt8] = Array("GET /".utf8) + [0xFF, 0xFE] + Array(" HTTP/1.1\r\n\r\n".utf8)
        #expect(HTTPRequestHead(bytes)?.route == .malformed)
    }
}
