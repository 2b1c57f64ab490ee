// signalfd(2): signals as readable events on the loop instead of asynchronous handlers.
// The signals must be blocked in every thread first, so block them before any thread starts.
import CLinux
import Glibc

public enum Signal: Int32, Sendable {
    case hangUp = 1 // SIGHUP: reload
    case interrupt = 2 // SIGINT: stop, as SIGTERM
    case terminate = 15 // SIGTERM: drain and stop
}

public struct SignalFD: ~Copyable {
    let fd: Int32

    /// Blocks `signals` for the calling thread (and the threads it starts later), ignores SIGPIPE,
    /// and opens a descriptor that reports them.
    public init(_ signals: [Signal]) throws(SystemError) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal.rawValue) }
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        let status = pthread_sigmask(SIG_BLOCK, &set, nil)
        if status != 0 { throw SystemError(call: "pthread_sigmask", errno: Errno(rawValue: status)) }
        fd = try retrying("signalfd") { CLinux.signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC)) }
    }

    deinit { closeDescriptor(fd) }

    public var id: DescriptorID { DescriptorID(fd) }

    /// The next pending signal, or nil when none is queued.
    public func next() throws(SystemError) -> Signal? {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while true {
            let result = try nonBlocking("read(signalfd)") { Glibc.read(fd, &info, size) }
            guard case .done(let count) = result, count == size else { return nil }
            if let signal = Signal(rawValue: Int32(info.ssi_signo)) { return signal }
        }
    }
}

/// Ignores SIGPIPE for the whole process. OpenSSL's socket BIO writes with write(2), not
/// send(MSG_NOSIGNAL), so a process that speaks TLS must, or a reset peer kills it.
public func ignoreBrokenPipe() {
    _ = Glibc.signal(SIGPIPE, SIG_IGN)
}
