import Testing

// The registry on its own: the newest claim wins, a release by an owner that was replaced leaves the
// newer one in place, and seq numbers every claim and release in the order they happened.
@testable import ServerCore

@Suite struct RegistryTests {
    private let first = Owner(worker: 0, slot: 7, serial: 1)
    private let second = Owner(worker: 1, slot: 7, serial: 1)

    @Test func claimReturnsTheOwnerItTakesOverFrom() {
        let registry = Registry()
        let claimed = registry.claim("dev-1", for: first)
        #expect(claimed.previous == nil)
        let again = registry.claim("dev-1", for: second)
        #expect(again.previous == first)
        #expect(registry.owner(of: "dev-1") == second)
        #expect(again.seq > claimed.seq)
    }

    @Test func releaseByAReplacedOwnerKeepsTheNewerOne() {
        let registry = Registry()
        _ = registry.claim("dev-1", for: first)
        _ = registry.claim("dev-1", for: second)
        let late = registry.release("dev-1", from: first)
        #expect(!late.isReleased)
        #expect(registry.owner(of: "dev-1") == second)
        let own = registry.release("dev-1", from: second)
        #expect(own.isReleased && own.seq > late.seq)
        #expect(registry.owner(of: "dev-1") == nil)
    }

    @Test func anotherSerialInTheSameSlotIsAnotherOwner() {
        let registry = Registry()
        _ = registry.claim("dev-1", for: Owner(worker: 0, slot: 7, serial: 2))
        #expect(!registry.release("dev-1", from: Owner(worker: 0, slot: 7, serial: 1)).isReleased)
        #expect(registry.owner(of: "dev-1") != nil)
    }

    @Test func idsAreIndependentAndSeqIsSharedByAll() {
        let registry = Registry()
        let seqs = [
            registry.claim("a", for: first).seq,
            registry.claim("b", for: second).seq,
            registry.release("a", from: first).seq,
            registry.release("missing", from: first).seq,
        ]
        #expect(seqs == [1, 2, 3, 4])
        #expect(registry.owner(of: "a") == nil && registry.owner(of: "b") == second)
    }

    @Test func concurrentClaimsLeaveExactlyOneOwnerAndDistinctSeqs() async {
        let registry = Registry()
        let seqs = await withTaskGroup(of: UInt64.self) { group in
            for worker in 0..<8 {
                group.addTask { registry.claim("shared", for: Owner(worker: worker, slot: 3, serial: 1)).seq }
            }
            return await group.reduce(into: [UInt64]()) { $0.append($1) }
        }
        #expect(Set(seqs) == Set(1...8))
        #expect(registry.owner(of: "shared") != nil)
    }
}
