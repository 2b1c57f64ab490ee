// A value behind a pthread mutex. Synchronization's `Mutex` is a bare futex that ThreadSanitizer does not
// follow, so two threads meeting only in it read as a race; TSan intercepts pthread_mutex_lock/unlock.
import Glibc

/// @unchecked Sendable: `value` is touched only between pthread_mutex_lock and pthread_mutex_unlock.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // A default mutex needs no resource pthread_mutex_init could fail to get (glibc always returns 0).
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the mutex. The corresponding C functions are
    /// `pthread_mutex_lock(3)` and `pthread_mutex_unlock(3)`.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
