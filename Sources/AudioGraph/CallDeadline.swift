import Realtime

/// How long the API call running on this thread may still wait, in all.
///
/// Each bounded wait of the engine (a request to the server, a metadata
/// call, a client open, a wait for the cycles in flight) has its own limit,
/// but an API call such as `IAudioClient::Initialize` makes several of them
/// one after another: a server that answers each request slowly, though
/// within its limit, would add them up past the 2 s that issue 14 allows a
/// call (seen in the chaos test: Initialize took 2.6 s). An API call that
/// may wait more than once runs ``within(_:_:)``, and the waits inside ask
/// ``limit(_:)`` for their own limit, cut to what is left of the call's.
/// Once it is spent, they give up at once and the call fails with the
/// error of the wait that gave up.
///
/// Thread safety: the deadline belongs to the calling thread (a task-local
/// value, bound without a task on plain threads).
public enum CallDeadline {
    /// The calls' usual budget: 1.2 s, leaving room under 2 s for the work
    /// between the waits (with 1.5 s, the chaos test's slowest Initialize
    /// took 1.92 s on the loaded two-core VM).
    public static let apiCallNanoseconds: UInt64 = 1_200_000_000

    /// The monotonic time by which the current call should be done (`.max`: none).
    @TaskLocal private static var deadline: UInt64 = .max

    /// Runs `body` with a deadline `nanoseconds` from now, or the enclosing
    /// call's if that comes sooner.
    public static func within<T, E: Error>(_ nanoseconds: UInt64 = apiCallNanoseconds,
                                           _ body: () throws(E) -> T) throws(E) -> T {
        let mine = trustedMonotonicNanoseconds() &+ nanoseconds
        let result: Result<T, E> = $deadline.withValue(min(deadline, mine)) {
            do throws(E) { return .success(try body()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `wanted` nanoseconds, or what is left of the current call's deadline
    /// if that is less (0 once it has passed).
    public static func limit(_ wanted: UInt64) -> UInt64 {
        let end = deadline
        guard end != .max else { return wanted }
        let now = trustedMonotonicNanoseconds()
        return end > now ? min(wanted, end - now) : 0
    }
}
