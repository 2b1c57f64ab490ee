// Tests for TimerWheel: scripted tables of arm, cancel and advance. The server's own pattern is in
// ServerPatternTests.swift, random operations against a model in TimerWheelModelTests.swift.
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
