import Testing

// epoll, eventfd and timerfd together: errors name the control operation, a wait with nothing ready
// returns zero events, and the wake-up descriptors report readable when they should and drain.
@testable import Posix

@Suite struct EpollTests {
    @Test func controlErrorsNameTheOperationAndErrno() throws {
        let epoll = try Epoll(capacity: 4)
        let wake = try EventFD()
        // ENOENT: never added.
        #expect(throws: SystemError(call: "epoll_ctl(DEL)", errno: Errno(rawValue: 2))) { try epoll.remove(wake.id) }
        #expect(throws: SystemError(call: "epoll_ctl(MOD)", errno: Errno(rawValue: 2))) {
            try epoll.modify(wake.id, interest: .readable, data: 1)
        }
        try epoll.add(wake.id, interest: .readable, data: 1)
        #expect(throws: SystemError(call: "epoll_ctl(ADD)", errno: Errno(rawValue: 17))) { // EEXIST
            try epoll.add(wake.id, interest: .readable, data: 1)
        }
        #expect(throws: SystemError(call: "epoll_ctl(ADD)", errno: .badDescriptor)) {
            try epoll.add(DescriptorID(number: Int32.max - 1), interest: .readable, data: 2)
        }
    }

    @Test func eventFDWakesAndDrains() throws {
        let epoll = try Epoll(capacity: 4)
        let wake = try EventFD()
        try epoll.add(wake.id, interest: .readable, data: 42)
        #expect(try epoll.wait(timeoutMilliseconds: 0) == 0)
        wake.signal()
        wake.signal()
        #expect(try epoll.wait(timeoutMilliseconds: 1_000) == 1)
        #expect(epoll.event(at: 0).data == 42)
        #expect(epoll.event(at: 0).readiness.contains(.readable))
        wake.drain()
        #expect(try epoll.wait(timeoutMilliseconds: 0) == 0)
        wake.drain() // nothing left: would-block is swallowed, not thrown or waited for
    }

    @Test func timerFDFiresForAnInstantInThePastAndDisarms() throws {
        let epoll = try Epoll(capacity: 4)
        let timer = try TimerFD()
        try epoll.add(timer.id, interest: .readable, data: 7)
        try timer.schedule(at: 1)
        #expect(try epoll.wait(timeoutMilliseconds: 1_000) == 1)
        timer.drain()
        try timer.schedule(at: Clock.monotonicNanoseconds() + 3_600_000_000_000)
        #expect(try epoll.wait(timeoutMilliseconds: 0) == 0)
        try timer.schedule(at: nil)
        #expect(try epoll.wait(timeoutMilliseconds: 0) == 0)
        timer.drain()
    }
}
