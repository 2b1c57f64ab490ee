// epoll(7), level-triggered: the readiness source of one event loop. Each registration carries a
// 64-bit word the loop chooses (it packs the descriptor number and a generation).
import CLinux
import Glibc

/// Readiness bits, named.
public struct Readiness: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = Readiness(rawValue: clinux_EPOLLIN)
    public static let writable = Readiness(rawValue: clinux_EPOLLOUT)
    /// The peer shut down its writing side (sent FIN).
    public static let peerClosed = Readiness(rawValue: clinux_EPOLLRDHUP)
    public static let error = Readiness(rawValue: clinux_EPOLLERR)
    public static let hangUp = Readiness(rawValue: clinux_EPOLLHUP)
    /// Wake only one of the epoll instances sharing a listener (used when workers share one passed socket).
    public static let exclusive = Readiness(rawValue: clinux_EPOLLEXCLUSIVE)
}

public struct Epoll: ~Copyable {
    let fd: Int32
    private let events: UnsafeMutableBufferPointer<epoll_event>

    /// `capacity` is how many events one wait can return.
    public init(capacity: Int = 512) throws(SystemError) {
        fd = try retrying("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        events = .allocate(capacity: capacity)
    }

    deinit {
        closeDescriptor(fd)
        events.deallocate()
    }

    /// The instance's descriptor, no longer closed here: what it still watches stays watched until the
    /// caller closes it (a hand-off carries it to the successor, which closes it off the critical path).
    public consuming func relinquish() -> DescriptorID {
        let number = fd
        events.deallocate()
        discard self
        return DescriptorID(number: number)
    }

    public func add(_ descriptor: DescriptorID, interest: Readiness, data: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, descriptor, interest, data, "epoll_ctl(ADD)")
    }

    public func modify(_ descriptor: DescriptorID, interest: Readiness, data: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, descriptor, interest, data, "epoll_ctl(MOD)")
    }

    public func remove(_ descriptor: DescriptorID) throws(SystemError) {
        try control(EPOLL_CTL_DEL, descriptor, [], 0, "epoll_ctl(DEL)")
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever). EINTR is a non-event: it returns 0 events.
    public func wait(timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let count = epoll_wait(fd, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        if count >= 0 { return Int(count) }
        let error = Errno.current
        if error == .interrupted { return 0 }
        throw SystemError(call: "epoll_wait", errno: error)
    }

    /// The `index`th event of the last wait.
    public func event(at index: Int) -> (data: UInt64, readiness: Readiness) {
        let event = events[index]
        return (event.data.u64, Readiness(rawValue: event.events))
    }

    private func control(
        _ operation: Int32, _ descriptor: DescriptorID, _ interest: Readiness, _ data: UInt64, _ call: StaticString
    ) throws(SystemError) {
        var event = epoll_event()
        event.events = interest.rawValue
        event.data.u64 = data
        _ = try retrying(call) { epoll_ctl(fd, operation, descriptor.rawValue, &event) }
    }
}
