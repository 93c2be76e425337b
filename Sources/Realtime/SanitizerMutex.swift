#if WASAPI_JACK_TSAN
import Glibc

/// The lock that stands in for `Synchronization.Mutex` in ThreadSanitizer
/// builds only (`scripts/sanitizers.sh` passes `-DWASAPI_JACK_TSAN`; nothing
/// else does, so shipped code never contains this type).
///
/// Why: on Linux, `Mutex` takes and releases a contended lock in the kernel
/// (a PI futex, in `_MutexHandle._lockSlow` / `_unlockSlow` of the
/// uninstrumented libswiftSynchronization.so). ThreadSanitizer sees only the
/// inlined user-space fast path, so whenever two threads contend it misses the
/// hand-over and reports every access under the lock as a race (a
/// two-thread `Mutex<[Int]>` counter reproduces it). A suppression cannot
/// name the lock: `withLock` is inlined, the reports show only our closures.
/// A `pthread_mutex_t`, whose lock and unlock ThreadSanitizer intercepts, has
/// the same semantics for the library's uses (`init`, `withLock`).
///
/// Each module that uses `Mutex` shadows the name with this type in the same
/// configuration (`Mutex+Sanitizer.swift`).
package final class SanitizerMutex<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        value = initialValue
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#endif
