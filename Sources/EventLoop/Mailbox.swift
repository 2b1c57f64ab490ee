// How work crosses threads: a message on a locked queue plus an eventfd wake-up of the owning loop.
// Nothing else is shared between workers, and no lock is taken on the heartbeat path.
import Posix

public final class Mailbox<Message: Sendable>: Sendable {
    /// A pthread mutex (Posix' `Locked`), not Synchronization's futex: ThreadSanitizer follows it.
    private let queue = Locked<[Message]>([])
    private let wakeup: EventFD

    public init() throws(SystemError) {
        wakeup = try EventFD()
    }

    /// Any thread: queue `message` and wake the owner. Only the message that finds the queue empty
    /// writes the eventfd: the owner drains the eventfd before it takes the queue, so whatever was added
    /// to a queue that already held a message is taken with it (a burst costs one write, not one each).
    public func post(_ message: Message) {
        let isFirst = queue.withLock { queue in
            queue.append(message)
            return queue.count == 1
        }
        if isFirst { wakeup.signal() }
    }

    /// The owner: watch the mailbox on `loop`; `receive` gets every message in order.
    public func attach(to loop: EventLoop, receive: @escaping (Message) -> Void) throws(SystemError) {
        let handler = loop.addHandler { [unowned self] _, _ in
            // Drain first, then take: a post between the two finds the queue non-empty and does not
            // signal, and its message is taken here.
            self.wakeup.drain()
            let messages = self.queue.withLock { queue in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for message in messages { receive(message) }
        }
        try loop.register(wakeup.id, interest: .readable, handler: handler)
    }
}
