// StderrLogHandler: the exact lines it writes, read back from a pipe.
import Glibc
import Logging
import Testing

@testable import SystemdEdge

@Suite struct StderrLogHandlerTests {
    /// Logs with a handler writing into a pipe, then returns everything written.
    private func lines(
        metadataProvider: Logger.MetadataProvider? = nil,
        _ body: (inout Logger) throws -> Void
    ) throws -> String {
        let (reader, writer) = try makePipe()
        defer { close(reader) }
        var logger = Logger(label: "test") {
            StderrLogHandler(label: $0, metadataProvider: metadataProvider, descriptor: writer)
        }
        logger.logLevel = .trace
        try body(&logger)
        close(writer)
        return try readToEnd(reader)
    }

    @Test func writesThePriorityTheMessageAndSortedMetadata() throws {
        let output = try lines { logger in
            logger.info("client online", metadata: ["peer": "127.0.0.1:5000", "client.id": "dev-1"])
        }
        #expect(output == "<6>client online client.id=dev-1 peer=127.0.0.1:5000\n")
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func prefixesTheSyslogPriority(level: Logger.Level, priority: Int) throws {
        let output = try lines { logger in logger.log(level: level, "m") }
        #expect(output == "<\(priority)>m\n")
    }

    @Test(arguments: [
        ("plain", "k=plain"),
        ("two words", #"k="two words""#),
        ("", #"k="""#),
        (#"say "hi""#, #"k="say \"hi\"""#),
        (#"C:\path"#, #"k="C:\\path""#),
        ("a=b", #"k="a=b""#),
        ("line\nbreak", #"k="line\nbreak""#),
        ("tab\there", #"k="tab\there""#),
        ("bell\u{7}", #"k="bell\u{7}""#),
        ("grüße", "k=grüße"),
    ])
    func quotesValuesThatNeedIt(value: String, expected: String) throws {
        let output = try lines { logger in logger.info("m", metadata: ["k": "\(value)"]) }
        #expect(output == "<6>m \(expected)\n")
    }

    @Test func keepsAMultilineMessageOnOneLine() throws {
        let output = try lines { logger in logger.warning("first\nsecond\r") }
        #expect(output == #"<4>first\nsecond\r"# + "\n")
    }

    @Test func laterMetadataWins() throws {
        let provider = Logger.MetadataProvider { ["worker": "2", "reason": "provided"] }
        let output = try lines(metadataProvider: provider) { logger in
            logger[metadataKey: "worker"] = "1"
            logger[metadataKey: "seq"] = "1"
            logger.notice("m", metadata: ["reason": "timeout"])
        }
        #expect(output == "<5>m reason=timeout seq=1 worker=2\n")
    }

    @Test func namesAnAttachedErrorUnlessTheCallDid() throws {
        let (reader, writer) = try makePipe()
        defer { close(reader) }
        let handler = StderrLogHandler(label: "test", descriptor: writer)
        for metadata: Logger.Metadata? in [nil, ["error": "EMFILE"]] {
            handler.log(
                event: LogEvent(
                    level: .error, message: "accept failed",
                    error: SystemdError.notListeningStreamSocket(descriptor: 3),
                    metadata: metadata, source: nil, file: #fileID, function: #function, line: #line))
        }
        close(writer)
        let output = try readToEnd(reader).split(separator: "\n")
        try #require(output.count == 2)
        #expect(output[0].hasPrefix(#"<3>accept failed error="socket activation: fd 3 from LISTEN_FDS"#))
        #expect(output[1] == "<3>accept failed error=EMFILE")
    }

    @Test func linesFromManyTasksStayWhole() async throws {
        let (reader, writer) = try makePipe()
        defer { close(reader) }
        // 8 × 50 lines of about 150 bytes fit in the pipe's 64 KiB, so nobody has to read meanwhile.
        let padding = String(repeating: "x", count: 100)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let logger = Logger(label: "test") { StderrLogHandler(label: $0, descriptor: writer) }
                    for line in 0..<50 {
                        logger.info("line", metadata: ["task": "\(task)", "n": "\(line)", "pad": "\(padding)"])
                    }
                }
            }
        }
        close(writer)
        let output = try readToEnd(reader)
        let received = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(received.count == 400)
        var seen = Set<String>()
        for line in received {
            let match = line.wholeMatch(of: /<6>line n=(\d+) pad=x{100} task=(\d)/)
            #expect(match != nil, "torn line: \(line)")
            if let match { seen.insert("\(match.2)/\(match.1)") }
        }
        #expect(seen.count == 400)
    }
}
