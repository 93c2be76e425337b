import Glibc
import Realtime
import Synchronization

/// Lets one request at a time through a client's handle to the server.
///
/// jackd2's libjack writes a request to the client's socket field by field
/// and reads the answer from it, with no lock of its own: two threads asking
/// at once interleave their bytes, the server waits for the rest of a request
/// that never comes, and both threads wait for answers for good (the
/// `latency` command hung so in `jack_port_unregister`, while a metadata
/// write of the same client ran on the database thread: `jack_set_property`
/// and `jack_remove_property` send the server a request too).
///
/// Requests run on the client's request lane (``ClientConnection``), one
/// at a time already; the metadata writes run on the database thread (the
/// database may hold them for good, see ``MetadataAccess``). Both take this
/// lock. The wait is bounded: a holder stuck in the database keeps it, and
/// then the client's requests fail instead of waiting.
///
/// Thread safety: any control thread; never JACK's threads.
final class RequestLock: Sendable {
    private let held = Atomic(false)

    /// Takes the lock, waiting at most `nanoseconds`, and not at all once
    /// `hopeless` says the holder will not let go soon (a metadata call
    /// stuck in the database); false if it did not come free.
    func lock(waitingAtMost nanoseconds: UInt64, unless hopeless: () -> Bool = { false }) -> Bool {
        let deadline = trustedMonotonicNanoseconds() &+ nanoseconds
        while !held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            if trustedMonotonicNanoseconds() >= deadline || hopeless() { return false }
            usleep(200)
        }
        return true
    }

    func unlock() {
        held.store(false, ordering: .releasing)
    }
}
