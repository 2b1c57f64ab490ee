// Tests for TimerWheel: scripted tables of arm, cancel and advance, then random operations checked against
// a sorted-array model of the tick-boundary rule.
import TestSupport
import Testing

@testable import TimerWheel

// One line of a script. Timers are named by their payload; `cancel` uses the handle of the latest `arm`
// of that payload, or an older one when the script re-arms a payload on purpose.
enum Step: Sendable {
    case arm(UInt64, at: UInt64)
    case cancel(UInt64, returns: Bool)
    case advance(to: UInt64, fires: [UInt64])
    case nextExpiry(UInt64?)
    case count(Int)
}

struct Script: Sendable, CustomTestStringConvertible {
    let name: String
    var tick: UInt64 = 100
    var slots = 8
    var origin: UInt64 = 0
    let steps: [Step]

    var testDescription: String { name }
}

// tick 100, 8 slots, origin 0 unless said otherwise: one revolution is 800.
let scripts: [Script] = [
    Script(
        name: "worked example: 250 rounds up to tick 3",
        steps: [
            .arm(7, at: 250), .nextExpiry(300), .advance(to: 299, fires: []), .advance(to: 300, fires: [7]),
            .count(0), .nextExpiry(nil),
        ]),
    Script(
        name: "deadline exactly on a boundary fires at that boundary",
        steps: [
            .arm(1, at: 300), .advance(to: 200, fires: []), .advance(to: 299, fires: []),
            .advance(to: 300, fires: [1]),
        ]),
    Script(
        name: "deadline just after a boundary fires at the next one",
        steps: [
            .arm(1, at: 301), .nextExpiry(400), .advance(to: 300, fires: []), .advance(to: 399, fires: []),
            .advance(to: 400, fires: [1]),
        ]),
    Script(
        name: "advance between boundaries fires what the last boundary covers",
        steps: [
            .arm(1, at: 120), .arm(2, at: 280), .advance(to: 350, fires: [1, 2]),
        ]),
    Script(
        name: "deadline in the past fires at the next boundary",
        steps: [
            .advance(to: 350, fires: []), .arm(1, at: 100), .arm(2, at: 340), .arm(3, at: 0), .arm(4, at: 350),
            .nextExpiry(400), .advance(to: 399, fires: []), .advance(to: 400, fires: [1, 2, 3, 4]),
        ]),
    Script(
        name: "deadline on the boundary just processed fires at the next one",
        steps: [
            .advance(to: 300, fires: []), .arm(1, at: 300), .nextExpiry(400), .advance(to: 400, fires: [1]),
        ]),
    Script(
        name: "deadline before the origin fires one tick after it", origin: 1_000,
        steps: [
            .arm(1, at: 5), .arm(2, at: 1_000), .nextExpiry(1_100), .advance(to: 1_099, fires: []),
            .advance(to: 1_100, fires: [1, 2]),
        ]),
    Script(
        name: "a tick that does not divide the origin", tick: 7, origin: 3,
        steps: [
            .arm(1, at: 10), .arm(2, at: 11), .nextExpiry(10), .advance(to: 10, fires: [1]),
            .nextExpiry(17), .advance(to: 16, fires: []), .advance(to: 17, fires: [2]),
        ]),
    Script(
        name: "beyond one revolution waits for its round, stepping every tick",
        steps: [.arm(1, at: 2_050)]
            + (UInt64(1)...20).map { Step.advance(to: $0 * 100, fires: []) }
            + [.count(1), .advance(to: 2_099, fires: []), .advance(to: 2_100, fires: [1])]),
    Script(
        name: "a later-round timer makes nextExpiry wake early but never fire early",
        steps: [
            .arm(1, at: 2_050), .nextExpiry(500), .advance(to: 500, fires: []), .nextExpiry(1_300),
            .advance(to: 1_300, fires: []), .nextExpiry(2_100), .advance(to: 2_100, fires: [1]),
            .nextExpiry(nil),
        ]),
    Script(
        name: "several rounds share one slot and fire in their own rounds",
        steps: [
            .arm(1, at: 300), .arm(2, at: 1_100), .arm(3, at: 1_900), .arm(4, at: 8_300),
            .advance(to: 300, fires: [1]), .count(3), .advance(to: 1_099, fires: []),
            .advance(to: 1_100, fires: [2]), .advance(to: 1_900, fires: [3]), .count(1),
            .advance(to: 8_299, fires: []), .advance(to: 8_300, fires: [4]), .count(0),
        ]),
    Script(
        name: "many timers in one slot",
        steps: (UInt64(1)...50).map { Step.arm($0, at: 400 + $0) }
            + [
                .count(50), .nextExpiry(500), .advance(to: 499, fires: []),
                .advance(to: 500, fires: Array(UInt64(1)...50)), .count(0),
            ]),
    Script(
        name: "cancel before firing",
        steps: [
            .arm(1, at: 300), .arm(2, at: 300), .arm(3, at: 300), .cancel(2, returns: true), .count(2),
            .advance(to: 300, fires: [1, 3]), .count(0),
        ]),
    Script(
        name: "cancelling the only timer empties the wheel",
        steps: [
            .arm(1, at: 700), .nextExpiry(700), .cancel(1, returns: true), .nextExpiry(nil),
            .cancel(1, returns: false), .advance(to: 5_000, fires: []),
        ]),
    Script(
        name: "cancel after firing returns false",
        steps: [
            .arm(1, at: 200), .advance(to: 200, fires: [1]), .cancel(1, returns: false), .count(0),
        ]),
    Script(
        name: "a stale handle after node reuse does not cancel the new timer",
        steps: [
            .arm(1, at: 300), .cancel(1, returns: true), .arm(2, at: 400), .cancel(1, returns: false),
            .count(1), .advance(to: 400, fires: [2]),
            .arm(3, at: 600), .cancel(2, returns: false), .advance(to: 600, fires: [3]),
        ]),
    Script(
        name: "advance far into the future fires everything due exactly once",
        steps: [
            .arm(1, at: 50), .arm(2, at: 799), .arm(3, at: 800), .arm(4, at: 801), .arm(5, at: 5_000),
            .arm(6, at: 100_000), .advance(to: 10_000, fires: [1, 2, 3, 4, 5]), .count(1),
            .advance(to: 10_050, fires: []), .nextExpiry(10_400), .advance(to: 99_999, fires: []),
            .advance(to: 100_000, fires: [6]), .count(0), .nextExpiry(nil),
        ]),
    Script(
        name: "advance of exactly one revolution",
        steps: [
            .arm(1, at: 100), .arm(2, at: 800), .arm(3, at: 900), .advance(to: 800, fires: [1, 2]),
            .advance(to: 900, fires: [3]),
        ]),
    Script(
        name: "nextExpiry is nil when empty and the first armed boundary otherwise",
        steps: [
            .nextExpiry(nil), .arm(1, at: 730), .nextExpiry(800), .arm(2, at: 120), .nextExpiry(200),
            .advance(to: 200, fires: [2]), .nextExpiry(800), .cancel(1, returns: true),
            .nextExpiry(nil),
        ]),
    Script(
        name: "advancing backwards changes nothing",
        steps: [
            .advance(to: 500, fires: []), .arm(1, at: 520), .advance(to: 200, fires: []),
            .advance(to: 500, fires: []), .advance(to: 600, fires: [1]),
        ]),
    Script(
        name: "a deadline at the end of the clock never overflows into firing early",
        steps: [
            .arm(1, at: .max), .arm(2, at: .max - 50), .advance(to: .max, fires: [2]), .count(1),
            .nextExpiry(.max), .advance(to: .max, fires: []), .count(1),
        ]),
]

@Test(arguments: scripts)
func scriptedSteps(_ script: Script) {
    var wheel = TimerWheel(tick: script.tick, slots: script.slots, now: script.origin)
    var handles: [UInt64: TimerHandle] = [:]
    var staleHandles: [UInt64: TimerHandle] = [:]
    for (line, step) in script.steps.enumerated() {
        switch step {
        case .arm(let payload, let deadline):
            handles[payload] = wheel.arm(payload, at: deadline)
        case .cancel(let payload, let expected):
            let handle = handles[payload] ?? staleHandles[payload]
            #expect(handle != nil, "step \(line): no handle for \(payload)")
            if let handle {
                let cancelled = wheel.cancel(handle)
                #expect(cancelled == expected, "step \(line): cancel(\(payload))")
            }
            if let handle = handles.removeValue(forKey: payload) { staleHandles[payload] = handle }
        case .advance(let now, let fires):
            var expired: [TimerExpiry] = []
            wheel.advance(to: now, into: &expired)
            #expect(expired.map(\.payload).sorted() == fires.sorted(), "step \(line): advance(to: \(now))")
            for payload in expired.map(\.payload) {
                if let handle = handles.removeValue(forKey: payload) { staleHandles[payload] = handle }
            }
        case .nextExpiry(let expected):
            #expect(wheel.nextExpiry() == expected, "step \(line): nextExpiry()")
        case .count(let expected):
            #expect(wheel.count == expected, "step \(line): count")
        }
    }
}

@Test func staleHandleIsForAReusedNode() {
    var wheel = TimerWheel(tick: 100, slots: 8, now: 0)
    let first = wheel.arm(1, at: 300)
    let cancelled = wheel.cancel(first)
    #expect(cancelled)
    let second = wheel.arm(2, at: 300)
    #expect(second.index == first.index, "the freed node is reused")
    #expect(second != first)
    let cancelledAgain = wheel.cancel(first)
    #expect(!cancelledAgain, "the stale handle does not cancel timer 2")
    var expired: [TimerExpiry] = []
    wheel.advance(to: 300, into: &expired)
    #expect(expired.map(\.payload) == [2])
}

@Test func eachTimerComesBackWithTheTagItWasArmedWith() {
    var wheel = TimerWheel(tick: 100, slots: 8, now: 0)
    _ = wheel.arm(.max, tag: 3, at: 300)
    let cancelled = wheel.arm(5, tag: 9, at: 300)
    wheel.cancel(cancelled)
    // The reused node must not keep the cancelled timer's tag.
    _ = wheel.arm(5, tag: 1, at: 200)
    _ = wheel.arm(5, at: 300)
    var expired: [TimerExpiry] = []
    wheel.advance(to: 300, into: &expired)
    let sorted = expired.sorted { ($0.tag, $0.payload) < ($1.tag, $1.payload) }
    #expect(
        sorted == [
            TimerExpiry(tag: 0, payload: 5), TimerExpiry(tag: 1, payload: 5), TimerExpiry(tag: 3, payload: .max),
        ])
}

@Test func arrayStorageIsReused() {
    var wheel = TimerWheel(tick: 100, slots: 8, now: 0)
    var indices = Set<Int32>()
    var expired: [TimerExpiry] = []
    for round in UInt64(1)...20 {
        for payload in UInt64(0)..<10 {
            indices.insert(wheel.arm(payload, at: round * 100).index)
        }
        wheel.advance(to: round * 100, into: &expired)
    }
    #expect(expired.count == 200)
    #expect(indices.count == 10, "fired nodes are reused instead of growing the arrays")
}

@Test(arguments: [0, 4, 8, 9, 1_000] as [UInt64])
func advanceWithOnlyLaterRoundsAndJumps(ticks: UInt64) {
    var wheel = TimerWheel(tick: 10, slots: 4, now: 0)
    // One timer per tick for three revolutions; a jump of `ticks` fires exactly those with due tick <= ticks.
    for due in UInt64(1)...12 { _ = wheel.arm(due, at: due * 10) }
    var expired: [TimerExpiry] = []
    wheel.advance(to: ticks * 10 + 5, into: &expired)
    let fired = Array(UInt64(1)...12).filter { $0 <= ticks }
    #expect(expired.map(\.payload).sorted() == fired)
    #expect(wheel.count == 12 - fired.count)
}

// The server's pattern: advance collects, then each payload is handed out and may arm and cancel.
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

// One armed timer in the model. `boundary` is when the tick-boundary rule says it fires: the first boundary
// at or after its deadline that is also after the last instant advanced to when it was armed.
struct ModelTimer {
    let payload: UInt64
    let deadline: UInt64
    let armedAt: UInt64
    let boundary: UInt64
    // Cleared when an advance overshoots nextExpiry() while the timer is armed: only a caller that wakes
    // when told is promised "at most one tick late".
    var isPunctual = true
}

// Each seed with its own wheel size, from 2 slots (every timer in a later round) to the server's 4096.
@Test(arguments: [(1, 2), (2, 4), (3, 8), (42, 16), (0xDEAD_BEEF, 32), (7, 4_096)] as [(UInt64, Int)])
func randomOperationsAgainstModel(seed: UInt64, slots: Int) {
    var random = SplitMix64(state: seed)
    let tick = 1 + random.below(1_000)
    let revolution = tick * UInt64(slots)
    let origin = random.below(1_000_000_000)
    var wheel = TimerWheel(tick: tick, slots: slots, now: origin)
    let context = "seed \(seed), tick \(tick), slots \(slots), origin \(origin)"

    var model: [ModelTimer] = [] // sorted by boundary
    var issued: [(handle: TimerHandle, payload: UInt64)] = []
    var lastNow = origin
    var nextPayload: UInt64 = 0
    var latenessChecks = 0
    var fireCount = 0

    func boundary(for deadline: UInt64, armedAt: UInt64) -> UInt64 {
        let atOrAfterDeadline = deadline <= origin ? 0 : (deadline - origin + tick - 1) / tick
        let afterArm = (armedAt - origin) / tick + 1
        return origin + max(atOrAfterDeadline, afterArm) * tick
    }

    func advance(to now: UInt64) {
        let expiry = wheel.nextExpiry()
        #expect((expiry == nil) == model.isEmpty, "\(context): nextExpiry nil exactly when empty")
        if let expiry {
            #expect(expiry > lastNow && (expiry - origin) % tick == 0, "\(context): \(expiry) is a boundary ahead")
            if let first = model.first {
                #expect(expiry <= first.boundary, "\(context): nextExpiry is never past the first due timer")
            }
            if now > expiry {
                for index in model.indices { model[index].isPunctual = false }
            }
        }
        var expired: [TimerExpiry] = []
        wheel.advance(to: now, into: &expired)
        let due = model.prefix { $0.boundary <= now }
        #expect(expired.map(\.payload).sorted() == due.map(\.payload).sorted(), "\(context): advance(to: \(now))")
        for timer in due {
            #expect(timer.deadline <= now, "\(context): \(timer.payload) never early")
            if timer.isPunctual {
                latenessChecks += 1
                if timer.deadline > timer.armedAt {
                    #expect(now < timer.deadline + tick, "\(context): \(timer.payload) at most one tick late")
                } else {
                    #expect(now <= timer.armedAt + tick, "\(context): past \(timer.payload) at the next boundary")
                }
            }
        }
        fireCount += due.count
        model.removeFirst(due.count)
        if now > lastNow { lastNow = now }
        #expect(wheel.count == model.count, "\(context): count")
    }

    for _ in 0..<4_000 {
        let choice = random.below(100)
        if choice < 45 {
            let deadline: UInt64
            switch random.below(6) {
            case 0: deadline = lastNow - min(lastNow, random.below(3 * revolution)) // in the past
            case 1: deadline = lastNow + random.below(2 * tick)
            case 2: deadline = lastNow + random.below(revolution)
            case 3: deadline = lastNow + random.below(6 * revolution) // several rounds
            case 4: deadline = origin + ((lastNow - origin) / tick + random.below(3 * UInt64(slots))) * tick
            default: deadline = random.below(origin + 1) // at or before the origin
            }
            let payload = nextPayload
            nextPayload += 1
            let handle = wheel.arm(payload, at: deadline)
            issued.append((handle, payload))
            let timer = ModelTimer(
                payload: payload, deadline: deadline, armedAt: lastNow,
                boundary: boundary(for: deadline, armedAt: lastNow))
            let position = model.firstIndex { $0.boundary > timer.boundary } ?? model.endIndex
            model.insert(timer, at: position)
            #expect(wheel.count == model.count, "\(context): count after arm")
        } else if choice < 60, !issued.isEmpty {
            let (handle, payload) = issued[Int(random.below(UInt64(issued.count)))]
            let position = model.firstIndex { $0.payload == payload }
            let cancelled = wheel.cancel(handle)
            #expect(cancelled == (position != nil), "\(context): cancel(\(payload))")
            if let position { model.remove(at: position) }
            #expect(wheel.count == model.count, "\(context): count after cancel")
        } else {
            let expiry = wheel.nextExpiry()
            switch random.below(10) {
            case 0...4: advance(to: expiry ?? lastNow + random.below(revolution))
            case 5...6: advance(to: lastNow + random.below((expiry ?? lastNow + tick) - lastNow + 1))
            case 7: advance(to: lastNow + random.below(3 * tick)) // may overshoot
            case 8: advance(to: lastNow + revolution * (1 + random.below(4)) + random.below(tick))
            default: advance(to: lastNow - min(lastNow - origin, random.below(2 * tick))) // backwards
            }
        }
    }
    advance(to: lastNow + 10 * revolution)
    #expect(model.isEmpty && wheel.count == 0 && wheel.nextExpiry() == nil, "\(context): drained")
    #expect(latenessChecks > 100, "\(context): the lateness bound was exercised")
    #expect(fireCount > 500, "\(context): timers fired")
}
