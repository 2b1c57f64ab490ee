// What `watch` shows, decided from the events workers post: put back in `seq` order, then filtered
// by `offline_grace`. Pure: the daemon passes the monotonic `now` (nanoseconds) and arms a timer for
// `nextDeadline`.
//
// Order: workers post from their own threads, so event 7 may arrive before event 6. An event ahead of
// a gap waits until the gap fills; a gap still open after `gapTimeout` is skipped, so one lost event
// cannot stall the stream (none is lost today: every `seq` handed out is posted).
//
// Grace (`offline_grace` > 0): an `offline` is held back for `grace`. If an `online` for the same id
// arrives in that time, watchers see neither the held `offline` nor that `online` — the id never
// looked absent. Otherwise the `offline` is shown when the grace runs out, with its own `seq` and
// `time`, so it comes after events with higher `seq`. `replaced` events are never held.
//
// Example, grace 2 s: online A (seq 1) · offline A at 10.0 s (seq 2, held until 12.0 s) · online A at
// 11.0 s (seq 3): seq 2 and 3 are dropped; watchers saw only seq 1. Had A come back at 12.5 s,
// they would see seq 2 at 12.0 s, then seq 3 at 12.5 s.

public struct PresenceFeed: Sendable {
    /// How long an `offline` is held back, in nanoseconds; 0 shows it at once.
    public var grace: UInt64
    /// How long events wait behind a gap in `seq` before the gap is skipped.
    public let gapTimeout: UInt64

    private var expected: UInt64 = 1
    /// Events that arrived ahead of a gap, by seq, with when they arrived.
    private var early: [UInt64: (event: PresenceEvent, arrived: UInt64)] = [:]
    /// Offline events held back, by id, with when they are due.
    private var held: [String: (event: PresenceEvent, due: UInt64)] = [:]

    public init(grace: UInt64, gapTimeout: UInt64 = 1_000_000_000) {
        self.grace = grace
        self.gapTimeout = gapTimeout
    }

    /// Offline events waiting out their grace.
    public var heldCount: Int { held.count }

    /// Takes one event as a worker posted it; returns what watchers see now, in order.
    public mutating func receive(_ event: PresenceEvent, now: UInt64) -> [PresenceEvent] {
        var shown: [PresenceEvent] = []
        if event.seq < expected {
            // It arrived after its gap was skipped: late, but still shown.
            admit(event, now: now, into: &shown)
            return shown
        }
        if event.seq == expected, early.isEmpty {
            // The usual case, in order with nothing behind a gap: no detour through `early`.
            expected += 1
            admit(event, now: now, into: &shown)
            return shown
        }
        early[event.seq] = (event, now)
        releaseInOrder(now: now, into: &shown)
        return shown
    }

    /// The usual case of `receive` without its array: true when `event` is the next in order, nothing
    /// waits behind a gap and nothing is held back (no grace), so it is shown as it is — the caller
    /// shows it. False changes nothing: pass the event to `receive`. The cluster link runs this for
    /// every event.
    public mutating func takeInOrder(_ event: PresenceEvent) -> Bool {
        guard grace == 0, event.seq == expected, early.isEmpty, held.isEmpty else { return false }
        expected += 1
        return true
    }

    /// The next instant `expire` has something to do, if any.
    public var nextDeadline: UInt64? {
        // Asked after every event; usually nothing is held or early.
        if held.isEmpty, early.isEmpty { return nil }
        let heldDue = held.values.lazy.map(\.due).min()
        let gapDue = early.values.lazy.map { $0.arrived + gapTimeout }.min()
        switch (heldDue, gapDue) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    /// Skips a gap that has waited too long and shows the offline events whose grace ran out, oldest first.
    public mutating func expire(now: UInt64) -> [PresenceEvent] {
        var shown: [PresenceEvent] = []
        if let oldest = early.values.min(by: { $0.arrived < $1.arrived }), now >= oldest.arrived + gapTimeout,
            let first = early.keys.min()
        {
            expected = first
            releaseInOrder(now: now, into: &shown)
        }
        let due = held.filter { $0.value.due <= now }.map(\.value.event).sorted { $0.seq < $1.seq }
        for event in due {
            held[event.id] = nil
            shown.append(event)
        }
        return shown
    }

    /// Everything still waiting, in seq order, as the daemon stops: nothing is held back any longer.
    public mutating func flush() -> [PresenceEvent] {
        var waiting = early.values.map(\.event) + held.values.map(\.event)
        early = [:]
        held = [:]
        waiting.sort { $0.seq < $1.seq }
        return waiting
    }

    /// A successor continues its predecessor's numbering: the first event it expects is `seq + 1`.
    public mutating func resume(after seq: UInt64) {
        if expected <= seq { expected = seq + 1 }
        early = early.filter { $0.key > seq }
    }

    private mutating func releaseInOrder(now: UInt64, into shown: inout [PresenceEvent]) {
        while let next = early.removeValue(forKey: expected) {
            expected += 1
            admit(next.event, now: now, into: &shown)
        }
    }

    private mutating func admit(_ event: PresenceEvent, now: UInt64, into shown: inout [PresenceEvent]) {
        switch event.kind {
        case .offline where grace > 0:
            // A second offline for an id already held can only follow a skipped gap; show the older one.
            if let older = held[event.id] { shown.append(older.event) }
            held[event.id] = (event, now + grace)
        case .online:
            if held.removeValue(forKey: event.id) != nil { return }
            shown.append(event)
        case .offline, .replaced, .restarted:
            shown.append(event)
        }
    }
}
