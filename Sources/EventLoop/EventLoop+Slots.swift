// Registrations by slot, for a user that holds many (a worker's sessions) and keeps each one's slot
// itself, so the loop keeps no descriptor → slot entry for them (Registrations.swift).
import Posix

extension EventLoop {
    /// Makes room for `registrations` slots and as many timers up front. Grown one by one, the arrays
    /// would double a dozen times on the way to tens of thousands, and malloc keeps every freed half
    /// resident in the thread's arena (9–11 B per client at 19,000: docs/benchmarks.md); room reserved
    /// and never written costs address space only.
    public func reserveCapacity(_ registrations: Int) {
        self.registrations.reserveCapacity(registrations)
        wheel.reserveCapacity(registrations)
    }

    /// Takes a slot for `descriptor`, whose events go to `handler` once `watch` adds it to epoll. Until
    /// then nothing is asked of the kernel, so the caller can file its state under the slot first.
    public func reserve(_ descriptor: DescriptorID, handler: HandlerID) -> Int {
        registrations.take(descriptor, handler: handler.index)
    }

    /// Adds the slot's descriptor to epoll, for `interest`, under the slot's current token.
    public func watch(slot: Int, interest: Readiness) throws(SystemError) {
        try epoll.add(descriptor(slot: slot), interest: interest, data: token(slot))
    }

    /// Takes the slot's descriptor out of epoll but keeps the slot (a hand-off that may still fail):
    /// events already queued are dropped, and `watch` adds it again under a new token.
    public func unwatch(slot: Int) {
        registrations.renew(slot)
        try? epoll.remove(descriptor(slot: slot))
    }

    /// Sets every slot registration aside at once, without a system call per slot (a hand-off's freeze): a
    /// fresh epoll takes the registrations by descriptor (the wake-up timerfd, a mailbox, listeners), and
    /// the old one, still holding the slots' descriptors, goes to the caller — to carry to a successor or
    /// close, either way off this loop (closing an epoll that holds 15,000 sockets takes ~75 ms). The slots stay taken, their queued events go stale, and `watch` adds them anew.
    public func setAside() throws(SystemError) -> DescriptorID {
        var fresh = try Epoll(capacity: eventsPerWait)
        for (slot, interest) in interests {
            try fresh.add(descriptor(slot: slot), interest: interest, data: token(slot))
        }
        for slot in 0..<registrations.count where registrations.isTaken(slot) && interests[slot] == nil {
            registrations.renew(slot)
        }
        swap(&epoll, &fresh)
        epochs += 1
        return fresh.relinquish()
    }

    /// Watches the slot's descriptor for `interest` from now on. The kernel refuses EPOLL_CTL_MOD with EINVAL
    /// on a registration made with `.exclusive` (a listener shared by every worker) and when asking for
    /// `.exclusive`; such a change takes the registration out and adds it anew, under the same token.
    public func modify(slot: Int, interest: Readiness) throws(SystemError) {
        let descriptor = descriptor(slot: slot)
        let data = token(slot)
        if interests[slot] != nil { interests[slot] = interest }
        do {
            try epoll.modify(descriptor, interest: interest, data: data)
        } catch  where error.errno == .invalidArgument {
            try? epoll.remove(descriptor)
            try epoll.add(descriptor, interest: interest, data: data)
        }
    }

    /// Stops watching the slot's descriptor and frees the slot; events already returned by this turn's
    /// wait are dropped.
    public func unregister(slot: Int) {
        // Fails only if the descriptor was never added or is already closed: nothing left to undo.
        try? epoll.remove(descriptor(slot: slot))
        interests[slot] = nil
        registrations.release(slot)
    }

    /// Frees the slot without asking the kernel, because the caller closes its descriptor next (`forget`).
    public func forget(slot: Int) {
        interests[slot] = nil
        registrations.release(slot)
    }

    /// The descriptor registered in `slot`.
    public func descriptor(slot: Int) -> DescriptorID {
        precondition(registrations.isTaken(slot), "slot \(slot) is not registered")
        return DescriptorID(number: registrations.descriptors[slot])
    }
}
