// Draining at SIGTERM (when the sessions are not handed over): stop accepting, tell every client
// `BYE shutdown` and half-close, wait for them to close until drain_timeout, then cut off the rest.
import Posix
import WireProtocol

extension Worker {
    /// Stop accepting, tell every client `BYE shutdown` and half-close, then wait for them to close
    /// (so they, not we, keep TIME_WAIT) until the drain timeout.
    func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        for listener in listeners {
            loop.unregister(listener.id)
            acceptPause.forget(listener.id)
            // A passed socket is shared with other workers' epoll sets: the Server closes it after they stop.
            if !listener.isShared, let socket = listener.socket.take() { socket.close() }
        }
        for slot in sessions.slots where sessions.isOpen(slot) {
            guard sessions[slot].isIdentified, settings.drainTimeout > 0 else {
                reap(slot, because: .shutdown)
                continue
            }
            output.removeAll(keepingCapacity: true)
            Reply.appendBye(Reason.shutdown.rawValue, to: &output)
            guard send(to: slot) else { continue }
            sessions[slot].isDraining = true
            sessions[slot].socket?.shutdownWrite()
        }
        if stats.connected.load(ordering: .relaxed) == 0 {
            loop.stop()
        } else {
            _ = loop.arm(timers.drain, at: loop.now + settings.drainTimeout)
        }
    }

    /// The drain timeout ran out: whoever has not closed yet is cut off.
    func drainExpired() {
        for slot in sessions.slots where sessions.isOpen(slot) { reap(slot, because: .shutdown, farewell: .silent) }
        loop.stop()
    }
}
