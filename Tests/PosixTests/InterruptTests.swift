import Glibc
import Synchronization
import TestSupport
import Testing

// A real EINTR from the kernel: a blocking read on a unix socket, interrupted by a signal (handler
// without SA_RESTART) sent to the reading thread while /proc shows it blocked in read(2). The wrapper
// must retry, so the read still returns the byte that arrives afterwards instead of throwing EINTR.
@testable import Posix

private let handled = Atomic<Int>(0)

/// What the reading thread tells the test: who it is, and what its read returned.
private final class Reader: Sendable {
    let tid = Atomic<Int32>(0)
    let thread = Atomic<UInt>(0)
    let outcome = Mutex<String>("")
}

@Suite struct InterruptTests {
    @Test func aBlockingReadInterruptedByASignalIsRetried() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in handled.add(1, ordering: .sequentiallyConsistent) }
        action.sa_flags = 0 // no SA_RESTART: the kernel returns EINTR to the interrupted read
        var previous = sigaction()
        try #require(sigaction(SIGUSR1, &action, &previous) == 0)
        defer { sigaction(SIGUSR1, &previous, nil) }

        let path = temporaryDirectory().appendingPathComponent("interrupt.sock").path
        let listener = try Socket.listenUnix(at: path)
        let client = try Socket.connectUnix(to: path)
        var server: Socket?
        #expect(
            try eventuallyBlocking {
                server = try listener.acceptUnix()
                return server != nil
            })

        let readerFD = dup(client.id.rawValue)
        let reader = Reader()
        let joinable = try Posix.Thread.start(name: "interrupted") {
            var usr1 = sigset_t()
            sigemptyset(&usr1)
            sigaddset(&usr1, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &usr1, nil)
            reader.thread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
            reader.tid.store(Self.currentTID(), ordering: .sequentiallyConsistent)
            let socket = Socket(owning: readerFD)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
            defer { buffer.deallocate() }
            let text: String
            do throws(SystemError) {
                switch try socket.read(into: buffer) {
                case .done(let count): text = "done(\(count))"
                case .wouldBlock: text = "wouldBlock"
                }
            } catch {
                text = "\(error)"
            }
            reader.outcome.withLock { $0 = text }
        }
        #expect(eventuallyBlocking { reader.tid.load(ordering: .sequentiallyConsistent) != 0 })
        let task = "/proc/self/task/\(reader.tid.load(ordering: .sequentiallyConsistent))"
        // Blocked in read(2): /proc's syscall file names the call number first.
        #expect(eventuallyBlocking { Self.blockedSyscall(task) == Self.readSyscall })

        let before = handled.load(ordering: .sequentiallyConsistent)
        pthread_kill(pthread_t(reader.thread.load(ordering: .sequentiallyConsistent)), SIGUSR1)
        #expect(eventuallyBlocking { handled.load(ordering: .sequentiallyConsistent) > before })
        // Back in read after the retry, still waiting.
        #expect(eventuallyBlocking { Self.blockedSyscall(task) == Self.readSyscall })
        #expect(reader.outcome.withLock { $0 } == "")

        try [UInt8(0x2A)].withUnsafeBytes { bytes in try server?.sendAll(bytes) }
        joinable.join()
        #expect(reader.outcome.withLock { $0 } == "done(1)")
    }

    #if arch(x86_64)
        static let readSyscall = "0"
    #else
        static let readSyscall = "63"
    #endif

    /// The number of the system call the thread is blocked in, or nil when it is running.
    private static func blockedSyscall(_ task: String) -> String? {
        guard let text = try? readFile(task + "/syscall") else { return nil }
        return String(decoding: text, as: UTF8.self).split(separator: " ").first.map(String.init)
    }

    /// This thread's kernel id, from the `/proc/thread-self` link (`<pid>/task/<tid>`).
    private static func currentTID() -> Int32 {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard length > 0 else { return -1 }
        let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int32(link.split(separator: "/").last ?? "") ?? -1
    }
}
