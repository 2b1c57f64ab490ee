import Glibc
import Testing

// What a successor finds open: `openNumbers` (one poll over the descriptor table) against the numbers
// a test opens and closes itself, high enough that no test running beside it takes them.
@testable import Posix

@Suite struct InheritanceTests {
    @Test func openNumbersHasEveryOpenDescriptorAndNoClosedOne() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        // The lowest free number from 3,001 up (F_DUPFD never takes one another test holds, as dup2 would).
        let high = fcntl(ends[0], F_DUPFD_CLOEXEC, 3_001)
        try #require(high >= 3_001)
        let open = Set(Descriptors.openNumbers(from: 3).map(\.rawValue))
        #expect(open.isSuperset(of: [ends[0], ends[1], high]))
        close(high)
        #expect(!Descriptors.openNumbers(from: 3).map(\.rawValue).contains(high))
        #expect(Descriptors.openNumbers(from: high).allSatisfy { $0.rawValue >= high }, "only from `from` up")
    }
}
