// eventfd(2): how one thread wakes another thread's epoll_wait after putting a message on its queue.
import CLinux
import Glibc

public struct EventFD: ~Copyable, @unchecked Sendable {
    // @unchecked: the descriptor is shared on purpose; eventfd reads and writes are atomic in the kernel.
    let fd: Int32

    public init() throws(SystemError) {
        fd = try retrying("eventfd") { CLinux.eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit { closeDescriptor(fd) }

    public var id: DescriptorID { DescriptorID(fd) }

    /// Wakes the reader. Never blocks: a counter already at its maximum is awake anyway.
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets the counter, so level-triggered epoll stops reporting it.
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd, &value, 8)
    }
}
