import Glibc
import Testing

// What a successor finds open: `openNumbers` (one poll over the descriptor table) against the numbers
// a test opens and closes itself, just under the descriptor limit, so that no test running beside it
// takes them (the kernel hands out the lowest free number, and tests in this process hold thousands).
@testable import Posix

@Suite struct InheritanceTests {
    @Test func openNumbersHasEveryOpenDescriptorAndNoClosedOne() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        // The lowest free number from 16 under the (raised) limit up: F_DUPFD never takes one another test
        // holds, as dup2 would, and once closed it goes back to no one short of a test holding nearly all.
        let limit = try DescriptorLimit.raiseToHardLimit()
        let floor = Int32(clamping: limit) - 16
        let high = fcntl(ends[0], F_DUPFD_CLOEXEC, floor)
        try #require(high >= floor)
        let open = Set(Descriptors.openNumbers(from: 3).map(\.rawValue))
        #expect(open.isSuperset(of: [ends[0], ends[1], high]))
        close(high)
        #expect(!Descriptors.openNumbers(from: 3).map(\.rawValue).contains(high))
        #expect(Descriptors.openNumbers(from: high).allSatisfy { $0.rawValue >= high }, "only from `from` up")
    }
}
