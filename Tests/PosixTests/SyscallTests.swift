import Glibc
import Testing

// The one wrapper every call goes through, driven with scripted results: EINTR is retried, EAGAIN
// comes back as `.wouldBlock`, and anything else is thrown with the call's name and the errno.
@testable import Posix

/// A call that fails with each of `errors` in turn (setting errno as the kernel would), then returns `result`.
private final class ScriptedCall {
    var errors: [Int32]
    let result: Int
    private(set) var calls = 0

    init(failing errors: [Int32], then result: Int) {
        self.errors = errors
        self.result = result
    }

    func callAsFunction() -> Int {
        calls += 1
        guard !errors.isEmpty else { return result }
        errno = errors.removeFirst()
        return -1
    }
}

@Suite struct SyscallTests {
    @Test func retryingRetriesEINTRUntilTheCallAnswers() throws {
        let call = ScriptedCall(failing: [EINTR, EINTR, EINTR], then: 7)
        #expect(try retrying("probe") { call() } == 7)
        #expect(call.calls == 4)
    }

    @Test(arguments: [EBADF, ECONNREFUSED, EADDRINUSE, EAGAIN])
    func retryingThrowsTheCallAndTheErrno(code: Int32) {
        let call = ScriptedCall(failing: [EINTR, code], then: 0)
        #expect(throws: SystemError(call: "probe", errno: Errno(rawValue: code))) {
            _ = try retrying("probe") { call() }
        }
        #expect(call.calls == 2)
    }

    @Test(arguments: [EAGAIN, EWOULDBLOCK])
    func nonBlockingReturnsWouldBlockAsAValue(code: Int32) throws {
        let call = ScriptedCall(failing: [EINTR, code], then: 0)
        let result = try nonBlocking("probe") { call() }
        guard case .wouldBlock = result else {
            Issue.record("expected .wouldBlock, got \(result)")
            return
        }
        #expect(call.calls == 2)
    }

    @Test func nonBlockingRetriesEINTRAndThrowsOtherErrors() throws {
        let retried = ScriptedCall(failing: [EINTR, EINTR], then: 3)
        guard case .done(3) = try nonBlocking("probe", { retried() }) else {
            Issue.record("EINTR was not retried to the answer")
            return
        }
        let failing = ScriptedCall(failing: [ECONNRESET], then: 0)
        #expect(throws: SystemError(call: "probe", errno: .connectionReset)) {
            _ = try nonBlocking("probe") { failing() }
        }
    }

    @Test func namedRetryingCarriesThePath() {
        let call = ScriptedCall(failing: [EINTR, ENOENT], then: 0)
        #expect(throws: SystemError(call: "open(/nowhere)", errno: Errno(rawValue: ENOENT))) {
            _ = try retrying(named: "open(/nowhere)") { call() }
        }
    }

    @Test func errorsReadWithTheirNames() {
        #expect(Errno.connectionReset.name == "ECONNRESET")
        #expect(Errno.connectionRefused.name == "ECONNREFUSED")
        #expect(Errno(rawValue: 9_999).name == "errno 9999")
        #expect(SystemError(call: "accept4", errno: .tooManyOpenFiles).description.hasPrefix("accept4: EMFILE"))
    }
}
