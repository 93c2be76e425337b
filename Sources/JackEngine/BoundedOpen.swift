import CJack
import Dispatch
import Foundation
import Synchronization

/// `jack_client_open` on a thread of its own, waited for a bounded time.
///
/// jackd2's libjack opens the user's metadata database inside
/// `jack_client_open`, and a process that died holding one of its locks (a
/// jackd killed with SIGKILL) makes that open wait for good (seen in the
/// chaos test: a `wasapi-jack volume` run stuck in `__db_open` under
/// `jack_client_open` for minutes). So the caller waits at most
/// ``limitNanoseconds`` (``startLimitNanoseconds`` when JACK may start a
/// server first), and then gets no client. An open left running keeps
/// libjack's own open lock, so until it returns every later open of the
/// process fails at once (``isStuck``) instead of queueing behind it; a
/// client it opens after all is closed right away.
///
/// Thread safety: any control thread, holding ``ServerRegistry/openLock``.
enum BoundedOpen {
    static let limitNanoseconds: UInt64 = 1_500_000_000
    static let startLimitNanoseconds: UInt64 = 15_000_000_000

    /// Whether an open given up on is still running.
    static var isStuck: Bool { abandonedRunning.load(ordering: .acquiring) }
    private static let abandonedRunning = Atomic(false)

    /// What `jack_client_open` returned (the handle passes to the caller once).
    struct Outcome: @unchecked Sendable {
        let handle: OpaquePointer?
        let status: UInt32
    }

    /// The open's outcome, or nil if it did not return within `limit`.
    static func open(name: String, options: jack_options_t, serverName: String?,
                     limit: UInt64) -> Outcome? {
        let call = Call()
        let thread = Thread {
            var status = jack_status_t(rawValue: 0)
            let handle = cjack_client_open(name, options, &status, serverName)
            let outcome = Outcome(handle: handle, status: status.rawValue)
            if !call.finish(outcome), let handle {
                // Its caller gave up: nobody owns this client.
                jack_client_close(handle)
            }
            if call.wasAbandoned { abandonedRunning.store(false, ordering: .releasing) }
        }
        thread.name = "wasapi-jack open"
        thread.start()
        return call.result(waitingAtMost: limit)
    }

    /// One open's hand-over between its caller and its thread.
    private final class Call: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let state = Mutex<(outcome: Outcome?, abandoned: Bool)>((nil, false))

        /// The thread hands its outcome over; false if the caller had given up.
        func finish(_ outcome: Outcome) -> Bool {
            let taken = state.withLock { state -> Bool in
                guard !state.abandoned else { return false }
                state.outcome = outcome
                return true
            }
            if taken { done.signal() }
            return taken
        }

        var wasAbandoned: Bool { state.withLock { $0.abandoned } }

        /// The outcome, or nil after `nanoseconds`: the call is then marked
        /// abandoned, and ``isStuck`` raised, under the lock its thread's
        /// ``finish(_:)`` takes, so the thread's clearing always comes after.
        func result(waitingAtMost nanoseconds: UInt64) -> Outcome? {
            _ = done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            return state.withLock { state in
                if let outcome = state.outcome { return outcome }
                state.abandoned = true
                abandonedRunning.store(true, ordering: .releasing)
                return nil
            }
        }
    }
}
