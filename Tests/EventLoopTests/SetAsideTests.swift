// `EventLoop.setAside`, a hand-off's freeze: every slot registration leaves epoll at once, with no
// system call per slot, while what was registered by descriptor goes on in a fresh epoll.
import Posix
import Testing

@testable import EventLoop

@Suite struct SetAsideTests {
    /// `setAside` (a hand-off's freeze): slots are no longer watched, with no call per slot, while what was
    /// registered by descriptor is, in the fresh epoll, at the interest it had last; the batch that set it
    /// aside ends there, and `watch` brings a slot back.
    @Test func settingTheEpollAsideKeepsRegistrationsByDescriptorOnly() throws {
        let loop = try EventLoop(tick: 1_000_000)
        var delivered: [Int] = []
        var named = 0
        let handler = loop.addSlotHandler { slot, _ in delivered.append(slot) }
        let backstop = loop.addTimerHandler { _ in }
        // EventFD is not copyable: two sessions, by name.
        let first = try EventFD()
        let second = try EventFD()
        var slots: [Int] = []
        for id in [first.id, second.id] {
            slots.append(loop.reserve(id, handler: handler))
            try loop.watch(slot: slots[slots.count - 1], interest: .readable)
        }
        let mailbox = try EventFD()
        var retired: DescriptorID?
        let mailboxHandler = loop.addHandler { _, _ in
            named += 1
            mailbox.drain()
            if retired == nil { retired = try? loop.setAside() }
        }
        try loop.register(mailbox.id, interest: .readable, handler: mailboxHandler)
        let paused = try EventFD()
        try loop.register(paused.id, interest: .readable, handler: loop.addHandler { _, _ in named += 100 })
        try loop.modify(paused.id, interest: [])
        let other = try EventFD()
        var others = 0
        try loop.register(
            other.id, interest: .readable,
            handler: loop.addHandler { _, _ in
                others += 1
                other.drain()
            })
        // Ready in this order, so the batch holds the mailbox's event first: setting aside ends it there.
        mailbox.signal()
        other.signal()
        try loop.runTurn()
        #expect(named == 1 && others == 0 && delivered.isEmpty)
        let old = try #require(retired)
        first.signal()
        second.signal()
        paused.signal()
        _ = loop.arm(backstop, at: loop.now + 5_000_000)
        try loop.runTurn()
        #expect(others == 1, "still watched, in the fresh epoll")
        #expect(delivered.isEmpty, "set-aside slots are not watched")
        #expect(named == 1, "the paused one is still paused")
        try loop.watch(slot: slots[1], interest: .readable)
        try loop.runTurn()
        #expect(delivered == [slots[1]])
        Descriptors.close(old)
    }
}
