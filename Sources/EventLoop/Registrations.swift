// A loop's registrations, by dense slot: what the epoll token names instead of the descriptor number.
// Descriptor numbers are shared by every thread of the process, so tables indexed by them cost each loop
// as much as the whole process's highest number; slots are this loop's own, handed out lowest-freed first.
//
//     slot s       descriptors[s] Int32, generations[s] UInt32, handlers[s] UInt8     9 B per slot
//     token        generation << 32 | slot: an event queued for an ended registration names an old generation
//     free slots   reused last-freed first; the arrays stay as long as the most registrations held at once
//     named        descriptor → slot, only for registrations made by descriptor (listeners, wake-ups, a few
//                  connections); a worker's sessions keep their own slots and are not in it
//
// Example: register fd 40 (slot 0), fd 9 (slot 1), release slot 0, register fd 41: it takes slot 0 with
// generation 2, and an event still queued for fd 40's token (slot 0, generation 1) is dropped.
import Posix

struct Registrations {
    private(set) var descriptors: [Int32] = []
    private(set) var generations: [UInt32] = []
    private(set) var handlers: [UInt8] = []
    private var free: [UInt32] = []
    var named: [Int32: UInt32] = [:]

    /// Makes room for `slots` registrations without growing the arrays by doubling.
    mutating func reserveCapacity(_ slots: Int) {
        descriptors.reserveCapacity(slots)
        generations.reserveCapacity(slots)
        handlers.reserveCapacity(slots)
    }

    /// Takes a slot for `descriptor`, under a generation no earlier registration of that slot had.
    mutating func take(_ descriptor: DescriptorID, handler: UInt8) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = Int(reused)
            descriptors[slot] = descriptor.rawValue
            handlers[slot] = handler
        } else {
            precondition(descriptors.count < Int(UInt32.max), "too many registrations")
            slot = descriptors.count
            descriptors.append(descriptor.rawValue)
            generations.append(0)
            handlers.append(handler)
        }
        generations[slot] &+= 1
        return slot
    }

    /// Ends the slot's registration (its queued events go stale) and frees it for the next `take`.
    mutating func release(_ slot: Int) {
        precondition(isTaken(slot), "slot \(slot) is not registered")
        generations[slot] &+= 1
        descriptors[slot] = -1
        free.append(UInt32(slot))
    }

    /// Makes the events queued so far for `slot` stale, keeping the slot (it is watched again later).
    mutating func renew(_ slot: Int) {
        generations[slot] &+= 1
    }

    func isTaken(_ slot: Int) -> Bool {
        slot >= 0 && slot < descriptors.count && descriptors[slot] >= 0
    }

    func token(_ slot: Int) -> UInt64 {
        UInt64(generations[slot]) << 32 | UInt64(UInt32(slot))
    }

    /// The slot `token` names, if that registration is still the current one.
    func slot(of token: UInt64) -> Int? {
        let slot = Int(UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard isTaken(slot), generations[slot] == generation else { return nil }
        return slot
    }

    /// The slot the next `take` hands out.
    var next: Int { free.last.map(Int.init) ?? descriptors.count }

    /// Slots ever handed out: the arrays' length (a test reads it to see freed slots are reused).
    var count: Int { descriptors.count }
}
