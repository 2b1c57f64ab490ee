// Random operations on TimerWheel checked against a sorted-array model of the tick-boundary rule:
// "never early, at most one tick late" for a caller that wakes when told.
import TestSupport
import Testing

@testable import TimerWheel

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
