import CJack
import Dispatch
import Foundation
import Synchronization

/// `jack_client_open` and `jack_client_close` on threads of their own,
/// waited for a bounded time.
///
/// Either can wait for good:
/// - jackd2's libjack opens the user's metadata database inside the
///   process's first `jack_client_open` and closes it inside its last
///   `jack_client_close`; a process that died holding one of its locks (a
///   jackd killed with SIGKILL) makes that wait forever (seen in the chaos
///   test: a `wasapi-jack volume` run stuck in `__db_open` under the open, a
///   `wasapi-jack play` stuck in libdb under the close of its enumerator).
/// - jackd2's requests have no timeout: a server that stopped answering
///   (SIGSTOP, a debugger, a stuck server thread) holds a close's
///   deactivation and its goodbye.
///
/// So the caller waits at most its limit. A call left running keeps
/// libjack's own open lock, so until it returns every later open of the
/// process fails at once (``isStuck``) instead of queueing behind it; a
/// client opened after its caller gave up is closed right away.
///
/// Thread safety: any control thread, holding ``ServerRegistry/openLock``.
enum BoundedOpenClose {
    static let openLimitNanoseconds: UInt64 = 1_500_000_000
    static let startLimitNanoseconds: UInt64 = 15_000_000_000
    static let closeLimitNanoseconds: UInt64 = 1_500_000_000

    /// Whether an open or close given up on is still running.
    static var isStuck: Bool { abandonedRunning.load(ordering: .acquiring) > 0 }
    private static let abandonedRunning = Atomic<Int>(0)

    /// What `jack_client_open` returned (the handle passes to the caller once).
    struct Outcome: @unchecked Sendable {
        let handle: OpaquePointer?
        let status: UInt32
    }

    /// The open's outcome, or nil if it did not return within `limit`.
    static func open(name: String, options: jack_options_t, serverName: String?,
                     limit: UInt64) -> Outcome? {
        run(named: "wasapi-jack open", limit: limit) {
            var status = jack_status_t(rawValue: 0)
            let handle = cjack_client_open(name, options, &status, serverName)
            return Outcome(handle: handle, status: status.rawValue)
        } whenAbandoned: { outcome in
            // Its caller gave up: nobody owns this client.
            if let handle = outcome.handle { jack_client_close(handle) }
        }
    }

    /// Runs `close` (which ends in `jack_client_close`), keeping `owners`
    /// (what libjack's threads of the client reach) alive until it returns.
    /// - Returns: whether it returned within `limit`.
    static func close(limit: UInt64, keepingAlive owners: [any AnyObject & Sendable],
                      _ close: @escaping @Sendable () -> Void) -> Bool {
        run(named: "wasapi-jack close", limit: limit) {
            withExtendedLifetime(owners) { close() }
        } whenAbandoned: { _ in } != nil
    }

    /// `body` on a thread of its own; its result, or nil after `limit`
    /// nanoseconds, `whenAbandoned` then getting the result once it comes.
    private static func run<Result: Sendable>(named name: String, limit: UInt64,
                                              _ body: @escaping @Sendable () -> Result,
                                              whenAbandoned: @escaping @Sendable (Result) -> Void) -> Result? {
        let call = Call<Result>()
        let thread = Thread {
            let result = body()
            if !call.finish(result) {
                whenAbandoned(result)
                abandonedRunning.subtract(1, ordering: .releasing)
            }
        }
        thread.name = name
        thread.start()
        return call.result(waitingAtMost: limit)
    }

    /// One call's hand-over between its caller and its thread.
    private final class Call<Result: Sendable>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let state = Mutex<(result: Result?, abandoned: Bool)>((nil, false))

        /// The thread hands its result over; false if the caller had given up.
        func finish(_ result: Result) -> Bool {
            let taken = state.withLock { state -> Bool in
                guard !state.abandoned else { return false }
                state.result = result
                return true
            }
            if taken { done.signal() }
            return taken
        }

        /// The result, or nil after `nanoseconds`: the call is then marked
        /// abandoned, and counted in ``isStuck``, under the lock its
        /// thread's ``finish(_:)`` takes, so the thread's count down always
        /// comes after.
        func result(waitingAtMost nanoseconds: UInt64) -> Result? {
            _ = done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            return state.withLock { state in
                if let result = state.result { return result }
                state.abandoned = true
                abandonedRunning.add(1, ordering: .releasing)
                return nil
            }
        }
    }
}
