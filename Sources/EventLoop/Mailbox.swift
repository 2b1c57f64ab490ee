// How work crosses threads: a message on a locked queue plus an eventfd wake-up of the owning loop.
// Nothing else is shared between workers, and no lock is taken on the heartbeat path.
import Posix
import Synchronization

public final class Mailbox<Message: Sendable>: Sendable {
    private let queue = Mutex<[Message]>([])
    private let wakeup: EventFD

    public init() throws(SystemError) {
        wakeup = try EventFD()
    }

    /// Any thread: queue `message` and wake the owner.
    public func post(_ message: Message) {
        queue.withLock { $0.append(message) }
        wakeup.signal()
    }

    /// The owner: watch the mailbox on `loop`; `receive` gets every message in order.
    public func attach(to loop: EventLoop, receive: @escaping (Message) -> Void) throws(SystemError) {
        let handler = loop.addHandler { [unowned self] _, _ in
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
