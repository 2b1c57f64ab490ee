// The session table: sessions by the loop's dense slot, pages up to the highest slot, serials, and taking
// a session out exactly once.
import Posix
import Testing

@testable import ServerCore

@Suite struct SessionTableTests {
    private func session(serial: UInt32) throws -> Session {
        let address = try #require(SocketAddress(host: "127.0.0.1", port: 0))
        let socket = try Socket.listen(on: address, reusePort: false)
        return Session(socket: socket, peer: address, serial: serial, now: 1_000)
    }

    /// A session whose socket is closed already: for tests that fill a page without holding 1024 descriptors.
    private func closedSession(serial: UInt32) throws -> Session {
        var session = try session(serial: serial)
        if let socket = session.socket.take() { socket.close() }
        return session
    }

    @Test func scatteredSlotsHoldTheirOwnSessions() throws {
        var table = SessionTable()
        let slots = [0, 1, 63, 64, 1023, 1024, 2500]
        for (index, slot) in slots.enumerated() {
            table.insert(try session(serial: UInt32(index + 1)), at: slot)
        }
        let capacity = table.capacity
        #expect(capacity == 3 * SessionTable.pageSize, "pages up to the highest slot, 2500")
        for (index, slot) in slots.enumerated() {
            let isOpen = table.isOpen(slot)
            let holdsItsSerial = table.holds(slot, serial: UInt32(index + 1))
            let holdsAnother = table.holds(slot, serial: UInt32(index + 100))
            #expect(isOpen && holdsItsSerial && !holdsAnother, "slot \(slot)")
        }
        let neverFilled = table.isOpen(2)
        let beyondThePages = table.isOpen(99_999)
        #expect(!neverFilled, "a slot never filled is not open")
        #expect(!beyondThePages, "a slot beyond the pages is not open")
    }

    @Test func changesInPlaceStayAndRemovalHappensOnce() throws {
        var table = SessionTable()
        table.insert(try session(serial: 7), at: 5)
        table[5].lastHeard = 42
        table[5].id = "dev-1"
        let lastHeard = table[5].lastHeard
        let isIdentified = table[5].isIdentified
        #expect(lastHeard == 42 && isIdentified)
        guard var removed = table.remove(5) else {
            Issue.record("the session was not there to remove")
            return
        }
        let removedID = removed.id
        #expect(removedID == "dev-1")
        let stillOpen = table.isOpen(5)
        #expect(!stillOpen)
        let removedTwice = table.remove(5) != nil
        #expect(!removedTwice, "a second reap finds nothing")
        if let socket = removed.socket.take() { socket.close() }
        table.insert(try session(serial: 8), at: 5)
        let holdsNew = table.holds(5, serial: 8)
        #expect(holdsNew)
    }

    /// Slots are dense (the loop hands them out), so pages grow only up to the highest slot used, and a
    /// slot freed by a reap is filled again in place.
    @Test func pagesGrowToTheHighestSlotAndAFreedSlotIsFilledAgain() throws {
        var table = SessionTable()
        for slot in 0..<SessionTable.pageSize { table.insert(try closedSession(serial: UInt32(slot + 1)), at: slot) }
        for slot in [17, 900] {
            guard var removed = table.remove(slot) else {
                Issue.record("slot \(slot) held no session")
                continue
            }
            if let socket = removed.socket.take() { socket.close() }
        }
        table.insert(try session(serial: 5_000), at: 900)
        let capacity = table.capacity
        #expect(capacity == SessionTable.pageSize, "a freed slot is filled without a new page")
        let reused = table.holds(900, serial: 5_000)
        let stillEmpty = table.isOpen(17)
        let neighbour = table.holds(18, serial: 19)
        #expect(reused && !stillEmpty && neighbour)
        table.insert(try session(serial: 5_001), at: SessionTable.pageSize)
        let grown = table.capacity
        let next = table.holds(SessionTable.pageSize, serial: 5_001)
        #expect(grown == 2 * SessionTable.pageSize && next, "the next slot past a full page takes one more page")
    }
}

@Suite struct OwnerTests {
    @Test(arguments: [
        (0, Int32(0), UInt32(0)),
        (255, Int32.max, Owner.serialLimit - 1),
        (3, Int32(19_999), UInt32(123_456)),
    ])
    func packsAndUnpacksEveryField(worker: Int, slot: Int32, serial: UInt32) {
        let owner = Owner(worker: worker, slot: slot, serial: serial)
        #expect(owner.worker == worker)
        #expect(owner.slot == slot)
        #expect(owner.serial == serial)
        #expect(MemoryLayout<Owner>.size == 8)
    }

    @Test func ownersDifferInAnyField() {
        let base = Owner(worker: 1, slot: 10, serial: 5)
        #expect(base != Owner(worker: 2, slot: 10, serial: 5))
        #expect(base != Owner(worker: 1, slot: 11, serial: 5))
        #expect(base != Owner(worker: 1, slot: 10, serial: 6))
        #expect(base == Owner(worker: 1, slot: 10, serial: 5))
    }
}
