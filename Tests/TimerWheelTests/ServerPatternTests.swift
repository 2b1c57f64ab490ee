// TimerWheel as the server drives it: advance collects expiries, then each is handed out and may re-arm,
// cancel or arm others while the rest are still pending.
import Testing

@testable import TimerWheel

@Test func armAndCancelWhileHandingOutCollectedExpiries() throws {
    let timeout: UInt64 = 1_000
    var wheel = TimerWheel(tick: 100, slots: 16, now: 0)
    var lastHeard: [UInt64: UInt64] = [1: 0, 2: 0, 3: 0, 5: 0]
    var handles: [UInt64: TimerHandle] = [:]
    for session in [1, 2, 3, 5] as [UInt64] {
        handles[session] = wheel.arm(session, at: timeout)
    }
    lastHeard[2] = 700 // a heartbeat only stores lastHeard

    var expired: [TimerExpiry] = []
    var reaped: [UInt64] = []
    var cancelResults: [Bool] = []
    let now = try #require(wheel.nextExpiry())
    #expect(now == timeout)
    wheel.advance(to: now, into: &expired)
    #expect(expired.map(\.payload).sorted() == [1, 2, 3, 5])
    for session in expired.map(\.payload) {
        let deadline = lastHeard[session, default: 0] + timeout
        if deadline > now {
            handles[session] = wheel.arm(session, at: deadline)
            continue
        }
        reaped.append(session)
        if session == 1 {
            // Reaping 1 cancels 3's timer (already collected, so false) and a new session 4's timer
            // armed just now (true), then arms 6 with a deadline already passed.
            if let handle = handles[3] { cancelResults.append(wheel.cancel(handle)) }
            handles[4] = wheel.arm(4, at: now + 500)
            if let handle = handles[4] { cancelResults.append(wheel.cancel(handle)) }
            handles[6] = wheel.arm(6, at: now - 1)
        }
    }
    #expect(reaped.sorted() == [1, 3, 5])
    #expect(cancelResults == [false, true])
    #expect(wheel.count == 2)
    #expect(wheel.nextExpiry() == 1_100)

    expired.removeAll()
    wheel.advance(to: 1_100, into: &expired)
    #expect(expired.map(\.payload) == [6])
    #expect(wheel.nextExpiry() == 1_700)
    expired.removeAll()
    wheel.advance(to: 1_699, into: &expired)
    #expect(expired.isEmpty)
    wheel.advance(to: 1_700, into: &expired)
    #expect(expired.map(\.payload) == [2])
    #expect(wheel.count == 0)
}
