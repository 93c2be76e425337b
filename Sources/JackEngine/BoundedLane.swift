import Dispatch
import Realtime
import Synchronization

/// A thread of its own for calls that may block for long (a request jackd2
/// holds, a lock in jackd2's metadata database), each waited for by its
/// caller for a bounded time.
///
/// Calls run one at a time, in order. A caller waits at most its limit,
/// the time queued behind earlier calls included, and then gets nil. A
/// call that has run past the caller's limit counts as stuck: until it
/// returns, later calls get nil at once instead of queueing behind it. A
/// call given up before it began does not run, unless it must
/// (`runsWhenAbandoned`: a release that has to happen some time); a call
/// that returns after its caller gave up hands its value to `late`, on the
/// lane.
///
/// The closures must not hold the object whose resources they use (a
/// ``JackClient``): the lane may run them after the caller let go, and the
/// object's last release would then run its deinit on the lane.
///
/// Thread safety: any control thread; never JACK's threads.
final class BoundedLane: Sendable {
    private let queue: DispatchQueue
    /// When the call now running began (0: none is running).
    private let runningSince = Atomic<UInt64>(0)
    /// The tag of the call now running (0: none, or untagged).
    private let runningTag = Atomic<UInt>(0)

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` on the lane and returns its value, or nil if it did not
    /// return within `limit` nanoseconds, or a call stuck (running for over
    /// `stuckAfter`, by default `limit`) was ahead of it.
    /// - Parameters:
    ///   - tag: what the call uses (``isRunning(tag:)``); 0: nothing to tell.
    ///   - runsWhenAbandoned: the call is queued even behind a stuck one, and
    ///     runs even after its caller gave up.
    ///   - late: gets the value of a call that returned after its caller gave up.
    func perform<T: Sendable>(limit: UInt64, stuckAfter: UInt64? = nil, tag: UInt = 0, runsWhenAbandoned: Bool = false,
                              _ body: @escaping @Sendable () -> T,
                              late: (@Sendable (T) -> Void)? = nil) -> T? {
        let stuckAfter = stuckAfter ?? limit
        guard runsWhenAbandoned || !isStuck(after: stuckAfter) else { return nil }
        let job = Job<T>()
        queue.async { [self] in
            guard job.begin() || runsWhenAbandoned else { return }
            runningTag.store(tag, ordering: .releasing)
            runningSince.store(trustedMonotonicNanoseconds(), ordering: .releasing)
            let value = body()
            runningSince.store(0, ordering: .releasing)
            runningTag.store(0, ordering: .releasing)
            if !job.finish(value) { late?(value) }
        }
        let deadline = trustedMonotonicNanoseconds() &+ limit
        return job.result(givingUpWhen: { [self] in
            trustedMonotonicNanoseconds() >= deadline || isStuck(after: stuckAfter)
        })
    }

    /// Whether a call has been running for longer than `limit` nanoseconds.
    func isStuck(after limit: UInt64) -> Bool {
        let since = runningSince.load(ordering: .acquiring)
        return since != 0 && trustedMonotonicNanoseconds() &- since > limit
    }

    /// Whether a call is running now.
    var isRunning: Bool { runningSince.load(ordering: .acquiring) != 0 }

    /// Whether the call running now carries `tag`.
    func isRunning(tag: UInt) -> Bool {
        tag != 0 && runningTag.load(ordering: .acquiring) == tag && isRunning
    }

    /// Returns once every call queued before it has finished, waiting at
    /// most `nanoseconds` (not at all behind a stuck call).
    /// - Returns: false if one had not.
    func drain(waitingAtMost nanoseconds: UInt64) -> Bool {
        perform(limit: nanoseconds) { true } ?? false
    }
}

/// One call's hand-over between its caller and the lane.
private final class Job<T: Sendable>: @unchecked Sendable {
    private enum Stage: UInt8 { case waiting, running, done, abandoned }
    private let stage = Atomic<UInt8>(Stage.waiting.rawValue)
    private let done = DispatchSemaphore(value: 0)
    /// Written by the lane before the stage becomes `done`; read by the
    /// caller once it has.
    private var value: T?

    /// The lane takes the job; false if its caller gave up before.
    func begin() -> Bool {
        stage.compareExchange(expected: Stage.waiting.rawValue, desired: Stage.running.rawValue,
                              ordering: .acquiringAndReleasing).exchanged
    }

    /// Hands the value over; false if the caller gave up meanwhile.
    func finish(_ result: T) -> Bool {
        value = result
        guard stage.compareExchange(expected: Stage.running.rawValue, desired: Stage.done.rawValue,
                                    ordering: .acquiringAndReleasing).exchanged else { return false }
        done.signal()
        return true
    }

    /// The value, or nil once `givingUp` says to stop waiting; the job is
    /// then marked abandoned (unless it finished in the meantime).
    func result(givingUpWhen givingUp: () -> Bool) -> T? {
        while done.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
            guard givingUp() else { continue }
            while true {
                let seen = stage.load(ordering: .acquiring)
                if seen == Stage.done.rawValue { return value }
                if stage.compareExchange(expected: seen, desired: Stage.abandoned.rawValue,
                                         ordering: .acquiringAndReleasing).exchanged { return nil }
            }
        }
        return value
    }
}
