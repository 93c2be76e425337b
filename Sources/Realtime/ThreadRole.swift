#if DEBUG
import Glibc
import Synchronization
#endif

/// A debug-build check of one side (role) of a single-producer,
/// single-consumer structure: ``LatestValue``, ``FrameRing``, and AudioGraph's
/// `CapturePacketQueue`.
///
/// Two kinds of role exist, and the structure's doc comment says which each
/// side is:
/// - A **fixed** role belongs to one thread for the structure's whole life
///   (the engine's process thread). ``checkFixedThread(_:)`` records the first
///   caller's thread identity (`pthread_self`, stored as an integer) and traps
///   if a call ever comes from another thread.
/// - A **moving** role may be taken by different threads over time, one at a
///   time (an application may call GetBuffer from any thread, serialised by
///   the audio client's lock). What can be checked is that two calls never
///   overlap: ``enter(_:)`` and ``leave()`` bracket one call and trap if
///   another call of the same role is still in progress.
///
/// Release builds compile every check out: the type is then empty and its
/// methods do nothing, so the `@_noLocks` real-time paths that call them stay
/// free of system calls and preconditions.
///
/// Thread safety: any thread; every method is `@_noLocks` (and in debug builds
/// calls `pthread_self`, which takes no lock).
public struct ThreadRole: ~Copyable, @unchecked Sendable {
    #if DEBUG
    /// The owning thread of a fixed role (0: not claimed yet; glibc's
    /// `pthread_t` is a non-null address).
    @usableFromInline let owner = Atomic<UInt>(0)
    /// Whether a call of a moving role is in progress.
    @usableFromInline let busy = Atomic<Bool>(false)
    #endif

    public init() {}

    /// Fixed role: the first caller claims it; a later call from any other
    /// thread traps (debug builds only).
    @_noLocks @inlinable @inline(__always)
    public func checkFixedThread(_ role: StaticString) {
        #if DEBUG
        let me = trustedCurrentThread()
        let (claimed, previous) = owner.compareExchange(expected: 0, desired: me,
                                                        ordering: .relaxed)
        precondition(claimed || previous == me,
                     "\(role): called from thread \(me), but this role belongs to thread \(previous) for the structure's life")
        #endif
    }

    /// Moving role: one call begins. Traps (debug builds only) if another call
    /// of the same role has begun and not left: two threads acting as one side
    /// at the same time.
    @_noLocks @inlinable @inline(__always)
    public func enter(_ role: StaticString) {
        #if DEBUG
        let wasBusy = busy.exchange(true, ordering: .acquiring)
        precondition(!wasBusy, "\(role): two threads act as this side of the structure at the same time")
        #endif
    }

    /// Moving role: the call begun with ``enter(_:)`` ends.
    @_noLocks @inlinable @inline(__always)
    public func leave() {
        #if DEBUG
        busy.store(false, ordering: .releasing)
        #endif
    }
}
