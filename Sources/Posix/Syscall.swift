// The one way heartbeatd calls the kernel: read errno at once, retry EINTR, return EAGAIN as a value,
// throw SystemError(call:errno:) for anything else.
import Glibc

/// The outcome of a call that may find nothing to do on a non-blocking descriptor.
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// Runs `body` until it does not fail with EINTR; a negative result throws with the call's name.
@inline(__always)
func retrying<R: BinaryInteger>(_ call: StaticString, _ body: () -> R) throws(SystemError) -> R {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno.current
        if error == .interrupted { continue }
        throw SystemError(call: "\(call)", errno: error)
    }
}

/// As `retrying`, but EAGAIN/EWOULDBLOCK comes back as `.wouldBlock`.
@inline(__always)
func nonBlocking<R: BinaryInteger>(_ call: StaticString, _ body: () -> R) throws(SystemError) -> IOResult<R> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let error = Errno.current
        if error == .interrupted { continue }
        if error == .wouldBlock || error.rawValue == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call: "\(call)", errno: error)
    }
}

/// close(2) is never retried: on Linux the descriptor is gone even when it reports EINTR.
@inline(__always)
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}
