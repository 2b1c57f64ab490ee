// A hashed timer wheel: one worker's session deadlines, armed, cancelled and expired in O(1) each.
// Pure: it never reads a clock. Instants are UInt64 nanoseconds on whatever monotonic clock the caller uses.
//
// The wheel is `slots` buckets (a power of two), one per tick. Tick k is the instant `origin + k × tick`
// (a "tick boundary"). A timer armed for deadline d gets the absolute due tick
//
//     due = the first tick whose boundary is >= d, and at least the tick after the last one processed
//
// and is linked into slot `due & (slots - 1)`. A slot therefore holds every armed timer whose due tick is
// congruent to it: this revolution's, and those of later rounds. Each node stores its absolute due tick, so
// a later-round timer is simply skipped (compared, not counted down) when its slot comes round early.
//
//     tick     slots   one revolution (slots × tick)   beyond
//     100 ms   4096    409.6 s                          rounds: the timer waits in its slot
//      10 ms    512      5.12 s                         rounds
//
// Guarantee: never early, at most one tick late. `advance(to: now)` processes every tick boundary <= now and
// returns a timer only when its boundary is reached, so a timer with deadline d only fires once now >= d.
// A caller that advances at the instants `nextExpiry()` reports (the event loop uses it as the epoll_wait
// timeout) gets each timer at its own boundary, the first one >= d, which is earlier than d + tick.
// A deadline at or before the last processed boundary (in the past) fires at the next boundary.
//
//     operation        cost
//     arm              O(1) (amortised: the node arrays grow geometrically, freed nodes are reused)
//     cancel           O(1)
//     advance(to:)     O(ticks elapsed + timers in the visited slots); when more than `slots` ticks
//                      elapsed (a stalled loop) each slot is visited once: O(slots + timers)
//     nextExpiry()     O(1) when empty; otherwise a scan to the first non-empty slot ahead, <= slots steps
//     memory           4 bytes per slot + 29 bytes per node (due, payload, next, prev, generation, tag)
//
// Nodes live in parallel arrays linked by Int32 indices, not one object per timer, so arming allocates
// nothing once the arrays have grown, and the wheel holds no references for ARC to count.
//
// Each node carries a one-byte `tag` beside its payload, handed back with it: the event loop stores which
// timer handler a timer belongs to there, so the payload's 64 bits are all the handler's own.
//
// Worked example: tick 100 ms, origin 0. `arm(7, at: 250 ms)` → due tick 3 (300 ms is the first boundary
// >= 250 ms) → slot 3. `nextExpiry()` is 300 ms. `advance(to: 299 ms)` processes ticks 1 and 2 and fires
// nothing; `advance(to: 300 ms)` processes tick 3 and appends 7. With 4096 slots, `arm(8, at: 500 s)` → due
// tick 5000 → slot 904: at tick 904 (90.4 s) the node is visited and stays (5000 > 904); it fires at 500 s.
//
// How the server uses it (lazy re-arm, as nginx, HAProxy, Netty and Mosquitto do): a heartbeat does not
// touch the wheel, it only stores the session's lastHeard. Each session has one timer armed for its
// deadline. When that timer fires, a session whose lastHeard + timeout is still ahead is re-armed for that
// instant; otherwise it is reaped with reason `timeout`. A busy session costs one re-arm per timeout, not
// one per heartbeat.

/// Names one armed timer, for `TimerWheel.cancel(_:)`.
///
/// It carries the node's generation next to its index, so a handle kept after its timer fired or was
/// cancelled never cancels a later timer that reuses the node. A handle belongs to the wheel that issued it.
public struct TimerHandle: Hashable, Sendable {
    let index: Int32
    // Bumped each time the node is freed. It wraps after 2^32 reuses of one node; a handle kept that long
    // could then match again.
    let generation: UInt32
}

/// One expired timer, as `advance(to:into:)` hands it back: the tag and the payload it was armed with.
public struct TimerExpiry: Equatable, Sendable {
    public let tag: UInt8
    public let payload: UInt64

    public init(tag: UInt8, payload: UInt64) {
        self.tag = tag
        self.payload = payload
    }
}

/// A hashed timer wheel of `slots` buckets of `tick` nanoseconds each, with rounds for deadlines beyond
/// one revolution. See the file's header for the layout, the guarantee and the costs.
///
/// Each timer carries a `UInt64` payload (a session index, say) and a one-byte tag (which of the caller's
/// handlers it is for). Expired timers are collected by `advance(to:into:)` first and handed out by the
/// caller afterwards, so handling one may arm and cancel timers freely.
public struct TimerWheel: Sendable {
    private static let none: Int32 = -1

    /// The resolution in nanoseconds: every deadline is rounded up to a multiple of it past the origin.
    public let tick: UInt64
    /// The number of armed timers; an empty wheel answers `nextExpiry()` at once.
    public private(set) var count = 0

    private let origin: UInt64
    private let mask: UInt64
    // Ticks since the origin whose boundaries have been processed.
    private var currentTick: UInt64 = 0

    // The first node of each slot's doubly linked list, or `none`.
    private var heads: [Int32]

    // One entry per node, in parallel. A free node is on the free list, linked through `nexts`.
    private var dueTicks: [UInt64] = []
    private var payloads: [UInt64] = []
    private var nexts: [Int32] = []
    private var prevs: [Int32] = []
    private var generations: [UInt32] = []
    private var tags: [UInt8] = []
    private var freeHead: Int32 = none

    /// Creates an empty wheel.
    ///
    /// - Parameters:
    ///   - tick: The resolution in nanoseconds; greater than zero.
    ///   - slots: The number of buckets; a power of two. One revolution covers `slots × tick`.
    ///   - now: The wheel's origin: tick boundaries fall at `now + k × tick`.
    public init(tick: UInt64, slots: Int, now: UInt64) {
        precondition(tick > 0, "tick must be greater than zero")
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two, not \(slots)")
        precondition(slots <= Int(Int32.max), "slots must fit an Int32 index")
        self.tick = tick
        self.origin = now
        self.mask = UInt64(slots - 1)
        self.heads = Array(repeating: Self.none, count: slots)
    }

    /// Makes room for `nodes` timers at once, so the node arrays need not double up to that many (each
    /// doubling frees the old arrays, and malloc keeps those pages). Room never written is never resident.
    public mutating func reserveCapacity(_ nodes: Int) {
        dueTicks.reserveCapacity(nodes)
        payloads.reserveCapacity(nodes)
        nexts.reserveCapacity(nodes)
        prevs.reserveCapacity(nodes)
        generations.reserveCapacity(nodes)
        tags.reserveCapacity(nodes)
    }

    /// Arms a timer that fires at the first `advance(to:)` whose `now >= deadline` reaches a tick boundary at
    /// or after the deadline. A deadline at or before the last processed boundary fires at the next one. O(1).
    ///
    /// - Parameters:
    ///   - payload: Handed back unchanged when the timer fires.
    ///   - tag: Handed back beside the payload; the wheel gives it no meaning.
    /// - Returns: A handle for `cancel(_:)`; keeping it is optional.
    public mutating func arm(_ payload: UInt64, tag: UInt8 = 0, at deadline: UInt64) -> TimerHandle {
        let due = max(firstTick(atOrAfter: deadline), nextTick)
        let node: Int32
        if freeHead != Self.none {
            node = freeHead
            freeHead = nexts[Int(node)]
            dueTicks[Int(node)] = due
            payloads[Int(node)] = payload
            tags[Int(node)] = tag
        } else {
            precondition(dueTicks.count < Int(Int32.max), "more than \(Int32.max) armed timers")
            node = Int32(dueTicks.count)
            dueTicks.append(due)
            payloads.append(payload)
            nexts.append(Self.none)
            prevs.append(Self.none)
            generations.append(0)
            tags.append(tag)
        }
        link(node)
        count += 1
        return TimerHandle(index: node, generation: generations[Int(node)])
    }

    /// Disarms a timer. O(1).
    ///
    /// - Returns: `false` if the timer already fired or was cancelled; a stale handle changes nothing.
    @discardableResult
    public mutating func cancel(_ handle: TimerHandle) -> Bool {
        let node = Int(handle.index)
        guard node >= 0, node < generations.count, generations[node] == handle.generation else {
            return false
        }
        unlink(handle.index)
        release(handle.index)
        count -= 1
        return true
    }

    /// The instant the caller should next call `advance(to:into:)`: the boundary of the first non-empty slot
    /// ahead, or nil when no timer is armed, so that an idle wheel never causes a wake-up.
    ///
    /// It is never later than the earliest armed timer's boundary. When the first non-empty slot holds only
    /// timers of later rounds, the instant is earlier than needed: one wake-up that fires nothing, at most
    /// once per slot per revolution. Cost: O(1) when empty, else one load per slot up to the first non-empty
    /// one, at most `slots` steps; a busy wheel stops within a few, a sparse one may scan them all.
    public func nextExpiry() -> UInt64? {
        guard count > 0 else { return nil }
        for step in 1...UInt64(heads.count) {
            let (ahead, overflow) = currentTick.addingReportingOverflow(step)
            if overflow { return .max }
            if heads[Int(ahead & mask)] != Self.none { return instant(ofTick: ahead) }
        }
        preconditionFailure("\(count) timers armed but every slot is empty")
    }

    /// Processes every tick boundary <= `now` and appends the timers due at them (tag and payload) to
    /// `expired`, in no promised order. Timers of later rounds stay armed. An instant at or before the last
    /// one processed changes nothing.
    ///
    /// Cost: O(ticks elapsed + timers in the visited slots); after more than `slots` ticks at once each slot
    /// is visited a single time, so a loop that stalled for minutes does not walk the wheel once per tick.
    public mutating func advance(to now: UInt64, into expired: inout [TimerExpiry]) {
        guard now >= origin else { return }
        let target = (now - origin) / tick
        guard target > currentTick else { return }
        let first = currentTick + 1
        currentTick = target
        guard count > 0 else { return }
        if target - first >= UInt64(heads.count) {
            for step in 0..<UInt64(heads.count) {
                if count == 0 { break }
                expire(slot: Int((first &+ step) & mask), upTo: target, into: &expired)
            }
        } else {
            for passing in first...target {
                if count == 0 { break }
                expire(slot: Int(passing & mask), upTo: target, into: &expired)
            }
        }
    }

    // The tick after the last processed one; saturates at the end of the clock, where nothing fires any more.
    private var nextTick: UInt64 {
        currentTick == .max ? .max : currentTick + 1
    }

    private func firstTick(atOrAfter deadline: UInt64) -> UInt64 {
        guard deadline > origin else { return 0 }
        let elapsed = deadline - origin
        return elapsed / tick + (elapsed % tick == 0 ? 0 : 1)
    }

    // Saturates: a boundary past the end of the clock is reported as UInt64.max, which `advance` never
    // reaches, so such a timer stays armed rather than firing early.
    private func instant(ofTick k: UInt64) -> UInt64 {
        let (offset, overflow) = k.multipliedReportingOverflow(by: tick)
        if overflow { return .max }
        let (instant, beyond) = origin.addingReportingOverflow(offset)
        return beyond ? .max : instant
    }

    private mutating func expire(slot: Int, upTo target: UInt64, into expired: inout [TimerExpiry]) {
        var node = heads[slot]
        while node != Self.none {
            let next = nexts[Int(node)]
            if dueTicks[Int(node)] <= target {
                expired.append(TimerExpiry(tag: tags[Int(node)], payload: payloads[Int(node)]))
                unlink(node)
                release(node)
                count -= 1
            }
            node = next
        }
    }

    private mutating func link(_ node: Int32) {
        let slot = Int(dueTicks[Int(node)] & mask)
        let head = heads[slot]
        nexts[Int(node)] = head
        prevs[Int(node)] = Self.none
        if head != Self.none { prevs[Int(head)] = node }
        heads[slot] = node
    }

    private mutating func unlink(_ node: Int32) {
        let next = nexts[Int(node)]
        let prev = prevs[Int(node)]
        if prev != Self.none {
            nexts[Int(prev)] = next
        } else {
            heads[Int(dueTicks[Int(node)] & mask)] = next
        }
        if next != Self.none { prevs[Int(next)] = prev }
    }

    // The generation bump is what makes every handle to this node stale.
    private mutating func release(_ node: Int32) {
        generations[Int(node)] &+= 1
        nexts[Int(node)] = freeHead
        prevs[Int(node)] = Self.none
        freeHead = node
    }
}
