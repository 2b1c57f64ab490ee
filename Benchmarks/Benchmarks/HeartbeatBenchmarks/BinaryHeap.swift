// The baseline the timer wheel is measured against: an indexed binary min-heap of deadlines, the
// structure libuv and many servers use for timers. O(log n) arm, cancel and pop.

/// A min-heap of (deadline, payload) with handles, so that a timer can be cancelled in O(log n).
struct BinaryHeapTimers {
    private var deadlines: [UInt64] = []
    private var payloads: [UInt64] = []
    private var handles: [Int] = []
    /// Position in the heap of each handle, or -1 once it fired or was cancelled.
    private var positions: [Int] = []
    private var freeHandles: [Int] = []

    var count: Int { deadlines.count }

    mutating func reserve(_ capacity: Int) {
        deadlines.reserveCapacity(capacity)
        payloads.reserveCapacity(capacity)
        handles.reserveCapacity(capacity)
        positions.reserveCapacity(capacity)
    }

    mutating func arm(_ payload: UInt64, at deadline: UInt64) -> Int {
        let handle: Int
        if let reused = freeHandles.popLast() {
            handle = reused
        } else {
            handle = positions.count
            positions.append(-1)
        }
        deadlines.append(deadline)
        payloads.append(payload)
        handles.append(handle)
        positions[handle] = deadlines.count - 1
        siftUp(deadlines.count - 1)
        return handle
    }

    mutating func cancel(_ handle: Int) {
        let position = positions[handle]
        guard position >= 0 else { return }
        remove(at: position)
    }

    /// Pops every timer due at or before `now` into `expired`.
    mutating func advance(to now: UInt64, into expired: inout [UInt64]) {
        while let first = deadlines.first, first <= now {
            expired.append(payloads[0])
            remove(at: 0)
        }
    }

    private mutating func remove(at position: Int) {
        let last = deadlines.count - 1
        positions[handles[position]] = -1
        freeHandles.append(handles[position])
        if position != last {
            move(from: last, to: position)
        }
        deadlines.removeLast()
        payloads.removeLast()
        handles.removeLast()
        if position < deadlines.count {
            siftDown(position)
            siftUp(position)
        }
    }

    private mutating func move(from source: Int, to target: Int) {
        deadlines[target] = deadlines[source]
        payloads[target] = payloads[source]
        handles[target] = handles[source]
        positions[handles[target]] = target
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        deadlines.swapAt(a, b)
        payloads.swapAt(a, b)
        handles.swapAt(a, b)
        positions[handles[a]] = a
        positions[handles[b]] = b
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard deadlines[child] < deadlines[parent] else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < deadlines.count else { return }
            var smallest = left
            if left + 1 < deadlines.count, deadlines[left + 1] < deadlines[left] { smallest = left + 1 }
            guard deadlines[smallest] < deadlines[parent] else { return }
            swapAt(smallest, parent)
            parent = smallest
        }
    }
}
