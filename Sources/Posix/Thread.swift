// Worker threads: one per event loop, started with pthreads so nothing else schedules on them.
import CLinux
import Glibc

public enum Thread {
    /// Starts `body` on a new joinable thread named `name` (shown by `ps -L` and in core dumps).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) -> Joinable {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                body.run()
                return nil
            }, box.toOpaque())
        if status != 0 {
            box.release()
            throw SystemError(call: "pthread_create", errno: Errno(rawValue: status))
        }
        _ = CLinux.pthread_setname_np(thread, String(name.prefix(15)))
        return Joinable(thread: thread)
    }

    public struct Joinable: @unchecked Sendable {
        // @unchecked: a pthread_t is an opaque id; joining it once is the caller's contract.
        let thread: pthread_t
        public func join() { pthread_join(thread, nil) }
        /// For a thread nobody waits for: its resources go when it ends.
        public func detach() { pthread_detach(thread) }
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// The process id, for logs and sd_notify's MAINPID.
public func processID() -> Int32 { getpid() }

/// Processors online, for `workers = "auto"`.
public func onlineProcessors() -> Int {
    max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}

/// Gives this thread's CPU to another runnable thread on it, if there is one (sched_yield(2)); returns at
/// once when there is none.
public func yieldProcessor() {
    sched_yield()
}
