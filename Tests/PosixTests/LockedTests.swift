import Testing

// Locked: a pthread mutex over a value; two threads' read-modify-writes through it lose nothing.
@testable import Posix

@Suite struct LockedTests {
    @Test func incrementsFromTwoThreadsAreAllCounted() throws {
        let count = Locked(0)
        let rounds = 50_000
        let other = try Posix.Thread.start(name: "test-locked") {
            for _ in 0..<rounds { count.withLock { $0 += 1 } }
        }
        for _ in 0..<rounds { count.withLock { $0 += 1 } }
        other.join()
        #expect(count.withLock { $0 } == 2 * rounds)
    }

    @Test func theBodysResultAndErrorComeOut() {
        let words = Locked(["a"])
        #expect(
            words.withLock {
                $0.append("b")
                return $0.count
            } == 2)
        struct Refused: Error {}
        #expect(throws: Refused.self) { try words.withLock { _ in throw Refused() } }
        #expect(words.withLock { $0 } == ["a", "b"])
    }
}
