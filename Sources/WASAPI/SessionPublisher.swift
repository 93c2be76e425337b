import Dispatch
import Synchronization

/// Writes this process's session records to the server off the hub's lock.
///
/// A record is written as JACK metadata and to the mirror (``SessionHub``
/// `writeValue`), and a metadata write may wait up to 0.5 s for jackd2's
/// database. Written under the hub's lock, every other call of the process
/// that needs the hub (a stream released, a session volume set) queued
/// behind it: in the chaos test three threads releasing audio clients took
/// 2.66 s each, waiting in turn behind each other's writes. So the hub
/// hands the record's text here, under its lock, and returns; a serial
/// queue writes the newest text of each key, in order, and a text replaced
/// before its turn is not written at all (the newer one says more).
///
/// Thread safety: ``publish(_:text:for:)`` from any thread (the hub calls
/// it holding its lock); the writes run on the publisher's own queue.
final class SessionPublisher: Sendable {
    private let queue = DispatchQueue(label: "wasapi-jack.session-publisher")
    /// The newest text of each key not written yet.
    private let pending = Mutex<[String: String]>([:])

    /// Queues `text` as `hub`'s record of `key`, replacing a text not
    /// written yet. Nothing is written once the hub is gone (its deinit
    /// removes its records).
    func publish(_ key: String, text: String, for hub: SessionHub) {
        let isQueued = pending.withLock { pending in
            defer { pending[key] = text }
            return pending[key] != nil
        }
        guard !isQueued else { return }
        queue.async { [self, weak hub] in
            guard let text = pending.withLock({ $0.removeValue(forKey: key) }), let hub else { return }
            hub.writeValue(key, of: hub.ownUUID, text)
        }
    }

    /// Waits, at most `nanoseconds`, until the records queued so far are
    /// written (a caller that must know another process can read them).
    /// - Returns: false if some were not.
    @discardableResult
    func waitUntilWritten(waitingAtMost nanoseconds: UInt64) -> Bool {
        let done = DispatchSemaphore(value: 0)
        queue.async { done.signal() }
        return done.wait(timeout: .now() + .nanoseconds(Int(min(nanoseconds, UInt64(Int.max))))) == .success
    }
}
