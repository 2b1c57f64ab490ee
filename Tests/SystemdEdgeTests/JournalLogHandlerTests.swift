// JournalLogHandler: the metadata-to-field mapping as tables, and entries read back from a real
// systemd-journald run in a private mount namespace (Tests/Support/journald-sandbox.sh).
import Foundation
import Glibc
import Logging
import Testing

@testable import SystemdEdge

@Suite struct JournalLogHandlerFieldTests {
    @Test(arguments: [
        ("client.id", "CLIENT_ID"),
        ("peer", "PEER"),
        ("reason", "REASON"),
        ("session.duration_ms", "SESSION_DURATION_MS"),
        ("worker", "WORKER"),
        ("seq", "SEQ"),
        ("event", "EVENT"),
        ("http.status-code", "HTTP_STATUS_CODE"),
        ("Already_UPPER_9", "ALREADY_UPPER_9"),
        ("9lives", "HB_9LIVES"),
        ("_private", "HB__PRIVATE"),
        ("", "HB_"),
        ("grüße", "GR____E"),
        ("message", "HB_MESSAGE"),
        ("priority", "HB_PRIORITY"),
        ("message_id", "HB_MESSAGE_ID"),
        ("syslog.identifier", "HB_SYSLOG_IDENTIFIER"),
        (String(repeating: "k", count: 70), String(repeating: "K", count: 64)),
    ])
    func fieldName(key: String, expected: String) {
        #expect(JournalLogHandler.fieldName(forMetadataKey: key) == expected)
    }

    @Test func fieldsOfAnEntry() {
        let record = LogRecord(
            priority: 6, message: "client online",
            metadata: [
                "peer": "127.0.0.1:5000", "client.id": "dev-1", "event": "online", "note": "a\nb",
            ])
        #expect(
            JournalLogHandler.fields(for: record) == [
                "MESSAGE=client online", "PRIORITY=6", "SYSLOG_IDENTIFIER=heartbeatd",
                "CLIENT_ID=dev-1", "EVENT=online", "MESSAGE_ID=\(MessageID.forEvent("online") ?? "?")",
                "NOTE=a\nb", "PEER=127.0.0.1:5000",
            ])
    }

    @Test func anEventWithoutAnIdGetsNoMessageID() {
        let record = LogRecord(priority: 5, message: "m", metadata: ["event": "rotated"])
        #expect(
            JournalLogHandler.fields(for: record) == [
                "MESSAGE=m", "PRIORITY=5", "SYSLOG_IDENTIFIER=heartbeatd", "EVENT=rotated",
            ])
    }
}

extension ProcessWide {
    @Suite(.enabled(if: canRunJournald, "needs root and /lib/systemd/systemd-journald to start a journald"))
    struct JournalLogHandlerTests {
        @Test func entriesReachARealJournald() throws {
            let directory = try makeTemporaryDirectory("journal")
            defer { removeTree(directory) }
            let client = "probe-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            let testsDirectory = "/" + #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
            let logged = try run([
                testsDirectory + "/Support/journald-sandbox.sh", directory, try probePath(), "journal", client,
            ])
            try #require(logged.status == 0, "sandbox failed: \(logged.standardError)")

            let read = try run(["journalctl", "-D", directory, "-o", "json", "--no-pager", "CLIENT_ID=\(client)"])
            try #require(read.status == 0, "journalctl failed: \(read.standardError)")
            let entries = try read.standardOutput.split(separator: "\n").map(Self.fields)
            try #require(entries.count == 3, "entries: \(read.standardOutput)")

            let online = entries[0]
            #expect(online["MESSAGE"] == "client online")
            #expect(online["PRIORITY"] == "6")
            #expect(online["SYSLOG_IDENTIFIER"] == "heartbeatd")
            #expect(online["CLIENT_ID"] == client)
            #expect(online["PEER"] == "127.0.0.1:5000")
            #expect(online["EVENT"] == "online")
            #expect(online["MESSAGE_ID"] == MessageID.forEvent("online"))
            #expect(online["_TRANSPORT"] == "journal")

            let offline = entries[1]
            #expect(offline["MESSAGE"] == "client offline")
            #expect(offline["PRIORITY"] == "4")
            #expect(offline["REASON"] == "timeout")
            #expect(offline["SESSION_DURATION_MS"] == "30012")
            #expect(offline["WORKER"] == "1")
            #expect(offline["MESSAGE_ID"] == MessageID.forEvent("offline"))

            let critical = entries[2]
            #expect(critical["MESSAGE"] == "two\nlines")
            #expect(critical["PRIORITY"] == "2")
            #expect(critical["HB_9LIVES"] == "first\nsecond")
            #expect(critical["SEQ"] == "7")
            #expect(critical["MESSAGE_ID"] == nil)
        }

        /// One line of `journalctl -o json`. journalctl writes a value that is not printable text as
        /// an array of byte values; both forms come back as a string.
        private static func fields(_ line: Substring) throws -> [String: String] {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            let entry = try #require(object as? [String: Any], "not a JSON object: \(line)")
            return entry.compactMapValues { value in
                if let text = value as? String { return text }
                if let bytes = value as? [UInt8] { return String(decoding: bytes, as: UTF8.self) }
                return nil
            }
        }
    }
}

let canRunJournald = geteuid() == 0 && isExecutable("/lib/systemd/systemd-journald") && isExecutable("/usr/bin/unshare")
