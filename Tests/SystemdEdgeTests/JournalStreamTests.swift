// JournalStream: JOURNAL_STREAM counts only when it names the file descriptor 2 is.
import Glibc
import Testing

@testable import SystemdEdge

extension ProcessWide {
    @Suite struct JournalStreamTests {
        /// What fstat(2) says descriptor 2 is, spelled as systemd spells JOURNAL_STREAM.
        private func standardErrorIdentity() throws -> (device: UInt64, inode: UInt64) {
            var status = stat()
            try #require(fstat(2, &status) == 0, "fstat(2) failed: errno \(errno)")
            return (UInt64(status.st_dev), UInt64(status.st_ino))
        }

        @Test func matchesStandardError() throws {
            let identity = try standardErrorIdentity()
            withEnvironment(["JOURNAL_STREAM": "\(identity.device):\(identity.inode)"]) {
                #expect(JournalStream.isStandardErrorJournal())
            }
        }

        @Test func rejectsAnotherFile() throws {
            let identity = try standardErrorIdentity()
            withEnvironment(["JOURNAL_STREAM": "\(identity.device):\(identity.inode + 1)"]) {
                #expect(!JournalStream.isStandardErrorJournal())
            }
            withEnvironment(["JOURNAL_STREAM": "\(identity.device + 1):\(identity.inode)"]) {
                #expect(!JournalStream.isStandardErrorJournal())
            }
        }

        @Test func isFalseWhenUnsetOrMalformed() {
            for value in [nil, "", "12", "12:", ":34", "a:b", "1:2:3"] as [String?] {
                withEnvironment(["JOURNAL_STREAM": value]) {
                    #expect(!JournalStream.isStandardErrorJournal(), "JOURNAL_STREAM=\(value ?? "unset")")
                }
            }
        }
    }
}

@Test(arguments: [
    ("64768:131074", [UInt64]?.some([64768, 131074])),
    ("0:0", [0, 0]),
    ("18446744073709551615:1", [.max, 1]),
    ("12", nil), ("12:", nil), (":34", nil), ("-1:2", nil), ("1:2:3", nil), ("a:b", nil), ("", nil),
])
func journalStreamParsing(text: String, expected: [UInt64]?) {
    let identity = JournalStream.identity(parsing: text)
    #expect(identity.map { [$0.device, $0.inode] } == expected)
}
