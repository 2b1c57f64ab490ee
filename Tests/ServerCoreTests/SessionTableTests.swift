// The session table: slots by descriptor number, entries dense per worker, serials, and taking a session
// out exactly once.
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

    @Test func scatteredSlotsHoldTheirOwnSessionsInOnePage() throws {
        var table = SessionTable()
        let slots = [0, 1, 63, 64, 1023, 1024, 2500]
        for (index, slot) in slots.enumerated() {
            table.insert(try session(serial: UInt32(index + 1)), at: slot)
        }
        let capacity = table.capacity
        #expect(capacity == SessionTable.pageSize, "seven sessions take one page, whatever their descriptor numbers")
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

    /// Two workers' tables, as descriptor numbers fall in one process: each table's pages hold only its own.
    @Test func workersSharingDescriptorNumbersKeepTheirPagesToTheirOwnSessions() throws {
        var first = SessionTable()
        var second = SessionTable()
        let firstSlots = [3, 5, 4_000, 65_535]
        let secondSlots = [4, 6, 4_001, 65_534]
        for (index, slot) in firstSlots.enumerated() { first.insert(try session(serial: UInt32(index + 1)), at: slot) }
        for (index, slot) in secondSlots.enumerated() {
            second.insert(try session(serial: UInt32(index + 11)), at: slot)
        }
        let capacities = (first.capacity, second.capacity)
        #expect(capacities == (SessionTable.pageSize, SessionTable.pageSize))
        for (index, slot) in firstSlots.enumerated() {
            let holds = first.holds(slot, serial: UInt32(index + 1))
            let otherHas = second.isOpen(slot)
            #expect(holds && !otherHas, "fd \(slot) is the first worker's only")
        }
        for (index, slot) in secondSlots.enumerated() {
            let holds = second.holds(slot, serial: UInt32(index + 11))
            let otherHas = first.isOpen(slot)
            #expect(holds && !otherHas, "fd \(slot) is the second worker's only")
        }
    }

    @Test func aClosedDescriptorNumberIsReusedWithItsEntry() throws {
        var table = SessionTable()
        for slot in 0..<SessionTable.pageSize { table.insert(try closedSession(serial: UInt32(slot + 1)), at: slot) }
        for slot in [17, 900] {
            guard var removed = table.remove(slot) else {
                Issue.record("fd \(slot) held no session")
                continue
            }
            if let socket = removed.socket.take() { socket.close() }
        }
        table.insert(try session(serial: 5_000), at: 900)
        table.insert(try session(serial: 5_001), at: 30_000)
        let capacity = table.capacity
        #expect(capacity == SessionTable.pageSize, "the freed entries are reused before a page is added")
        let reused = table.holds(900, serial: 5_000)
        let high = table.holds(30_000, serial: 5_001)
        let stillEmpty = table.isOpen(17)
        let neighbour = table.holds(18, serial: 19)
        #expect(reused && high && !stillEmpty && neighbour)
        // The page is full again: the next session, whatever its number, takes a second page.
        table.insert(try session(serial: 5_002), at: 17)
        let grown = table.capacity
        let refilled = table.holds(17, serial: 5_002)
        #expect(grown == 2 * SessionTable.pageSize && refilled)
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
