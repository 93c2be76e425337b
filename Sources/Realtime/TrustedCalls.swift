import CLinuxSystem
import Glibc

// Every C function the real-time core calls from the JACK process thread is
// wrapped here, one per function, so the list of trusted C calls is explicit
// and can be audited against the C library's documentation.
//
// `_unsafePerformance` tells the optimizer's `@_noLocks` checker that the
// wrapped call is trusted not to allocate, lock or block. Nothing else may be
// placed inside these wrappers. They are `@inlinable`, so that a caller in
// another module calls the C function itself, not a wrapper around it.

/// `memcpy(3)`: copies bytes between non-overlapping buffers; no allocation,
/// no lock, no system call.
@_noLocks @inlinable @inline(__always)
public func trustedMemcpy(_ destination: UnsafeMutableRawPointer,
                          _ source: UnsafeRawPointer, _ byteCount: Int) {
    _unsafePerformance { _ = memcpy(destination, source, byteCount) }
}

/// `memset(3)` with zero: clears bytes; no allocation, no lock, no system call.
@_noLocks @inlinable @inline(__always)
public func trustedZero(_ destination: UnsafeMutableRawPointer, _ byteCount: Int) {
    _unsafePerformance { _ = memset(destination, 0, byteCount) }
}

/// `write(2)` of one 8-byte counter increment to a non-blocking eventfd.
/// The kernel adds to the counter and wakes pollers; with EFD_NONBLOCK it never
/// sleeps (it fails with EAGAIN only if the counter would overflow, which a
/// consumer that reads it cannot let happen).
@_noLocks @inlinable @inline(__always)
public func trustedEventfdIncrement(_ fileDescriptor: Int32) -> Bool {
    _unsafePerformance {
        var one: UInt64 = 1
        return write(fileDescriptor, &one, 8) == 8
    }
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds: served from the vDSO, no
/// system call, no lock.
@_noLocks @inlinable @inline(__always)
public func trustedMonotonicNanoseconds() -> UInt64 {
    _unsafePerformance {
        var now = timespec()
        _ = clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}

/// `pthread_self()` as an integer: glibc reads the thread pointer, no lock,
/// no system call (debug builds' thread-role checks).
@_noLocks @inlinable @inline(__always)
public func trustedCurrentThread() -> UInt {
    _unsafePerformance { UInt(pthread_self()) }
}
