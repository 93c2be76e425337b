import Glibc
import Realtime
import Synchronization

/// Keeps JACK's notification thread out of this package's callbacks while
/// the client closes.
///
/// jackd2's `jack_client_close` stops the client's notification thread with
/// `pthread_cancel`, and libjack's threads use *asynchronous* cancellation
/// (JackPosixThread's default): the thread stops at whatever instruction it
/// is on. Inside one of our callbacks that may be in `malloc` or holding a
/// lock, which leaves the heap corrupt or the lock held for good. The window
/// is real: `jack_deactivate` disconnects the client's ports, and the
/// server's port-disconnect notifications reach the client's own callbacks
/// just before the close cancels the thread.
///
/// So every notification callback passes through the gate (``enter()`` /
/// ``leave()``), and ``shut(waitingAtMost:)`` closes it and waits, bounded,
/// until no callback is inside; only then is `jack_client_close` called. A
/// callback that arrives after that returns at once, touching nothing but
/// this gate's two atomics (where a cancellation is harmless).
///
/// The process callback does not pass here: it takes no lock and allocates
/// nothing, and `jack_deactivate` stops its thread. The shutdown and xrun
/// callbacks touch only atomics (and an eventfd write).
///
/// Thread safety: ``enter()`` and ``leave()`` on JACK's notification thread,
/// ``shut(waitingAtMost:)`` on the thread that closes the client. Lock-free.
final class NotificationGate: Sendable {
    /// Callbacks inside, plus any that entered after the gate shut and are
    /// about to leave again.
    private let inside = Atomic<Int>(0)
    private let isShut = Atomic<Bool>(false)

    init() {}

    /// Lets a callback in, unless the gate is shut. Pair a `true` with ``leave()``.
    func enter() -> Bool {
        // Count first, then look: with ``shut(waitingAtMost:)`` storing first
        // and then counting, one of the two always sees the other.
        inside.add(1, ordering: .sequentiallyConsistent)
        if isShut.load(ordering: .sequentiallyConsistent) {
            inside.subtract(1, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    /// A callback that ``enter()`` let in is done.
    func leave() {
        inside.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Shuts the gate and waits until no callback is inside, polling every
    /// millisecond for at most `limit` nanoseconds.
    /// - Returns: false if a callback was still inside at the limit (it is
    ///   stuck; the caller closes anyway, as there is nothing else to do).
    func shut(waitingAtMost limit: UInt64) -> Bool {
        isShut.store(true, ordering: .sequentiallyConsistent)
        let deadline = trustedMonotonicNanoseconds() + limit
        while inside.load(ordering: .sequentiallyConsistent) > 0 {
            if trustedMonotonicNanoseconds() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }
}
