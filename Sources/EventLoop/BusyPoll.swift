// Polling before sleeping, only while the loop is busy. A loop that goes to sleep in epoll_wait is woken
// by the kernel when its next event arrives: on a virtual machine that is an inter-processor interrupt
// and a context switch, tens of microseconds before the loop runs again. A loop that is working most of
// the time, at a high connect or request rate, loses that much on nearly every batch. So when the loop
// was busy for at least half of the last period, it polls (epoll_wait with a zero timeout) for up to
// `span` before it sleeps, as the kernel's halt-polling does for an idle virtual CPU, and yields between
// two polls so that it never keeps another runnable thread off its CPU. A loop that is
// mostly idle — most heartbeat loads: a beat a second per client — sleeps at once and costs nothing.
// See docs/design.md, "Polling before sleeping".
struct BusyPoll {
    /// How long the loop polls before it sleeps, in nanoseconds; 0: never.
    var span: UInt64
    /// How often the decision is taken again, from the busy time in the period just ended.
    static let period: UInt64 = 100_000_000
    /// Whether the loop polls before it sleeps, until the current period ends: the last period was at
    /// least half busy, and the span (a reload may set it to 0 meanwhile) is not 0.
    var isOn: Bool { wasBusy && span > 0 }
    private var wasBusy = false
    private var periodStart: UInt64
    /// Nanoseconds of this period spent in turns (from a wait's return to the turn's end); the polling
    /// itself is not counted, or it would keep itself on.
    private var busy: UInt64 = 0

    init(span: UInt64, now: UInt64) {
        self.span = span
        periodStart = now
    }

    /// One turn's work ran from `start` to `end` (a monotonic clock's nanoseconds).
    mutating func worked(from start: UInt64, to end: UInt64) {
        busy &+= end &- start
        let elapsed = end &- periodStart
        guard elapsed >= Self.period else { return }
        wasBusy = busy * 2 >= elapsed
        busy = 0
        periodStart = end
    }
}
