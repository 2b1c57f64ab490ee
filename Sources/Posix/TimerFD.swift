// timerfd(2) on CLOCK_MONOTONIC: wakes an epoll set at an exact instant. An epoll_wait timeout is not
// exact: the kernel lets it run over by 0.1% of its length (30 ms on a 30 s wait, at most 100 ms).
import CLinux
import Glibc

public struct TimerFD: ~Copyable {
    let fd: Int32

    public init() throws(SystemError) {
        fd = try retrying("timerfd_create") {
            CLinux.timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        }
    }

    deinit { closeDescriptor(fd) }

    public var id: DescriptorID { DescriptorID(fd) }

    /// Makes the descriptor readable once, at the monotonic `instant` in nanoseconds (at once if it has
    /// passed); nil disarms it. The corresponding C function is `timerfd_settime(2)`.
    public func schedule(at instant: UInt64?) throws(SystemError) {
        var setting = itimerspec()
        if let instant {
            // An all-zero value would disarm the timer; 1 ns is just as far in the past.
            let at = Swift.max(instant, 1)
            setting.it_value.tv_sec = Int(at / 1_000_000_000)
            setting.it_value.tv_nsec = Int(at % 1_000_000_000)
        }
        _ = try retrying("timerfd_settime") { CLinux.timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &setting, nil) }
    }

    /// Reads the expiry count, so level-triggered epoll stops reporting it.
    public func drain() {
        var expirations: UInt64 = 0
        _ = Glibc.read(fd, &expirations, 8)
    }
}
