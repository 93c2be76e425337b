import Glibc

/// Why an engine could not give an application thread real-time scheduling
/// (``AudioEngine/acquireRealtimeScheduling(thread:belowEngineBy:)``).
public enum RealtimeSchedulingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The engine's own threads do not run real-time (jackd without `-R`),
    /// so there is no priority to sit just under.
    case engineNotRealtime
    /// The system refused (EPERM: no `rtprio` limit for this user, no rtkit).
    case notPermitted
    /// The scheduling call failed with this error number.
    case failed(code: Int32)

    public var description: String {
        switch self {
        case .engineNotRealtime:
            return "the audio server does not run its threads with real-time scheduling"
        case .notPermitted:
            return "real-time scheduling is not permitted for this user (raise the rtprio limit, e.g. "
                + "membership of the 'audio' group, or run rtkit)"
        case let .failed(code):
            return "real-time scheduling failed: \(String(cString: strerror(code)))"
        }
    }
}

/// A thread's scheduling as an engine left it: what a caller reverts to.
///
/// Plain value; any thread.
public struct ThreadScheduling: Sendable, Equatable {
    /// The POSIX policy (`SCHED_OTHER`, `SCHED_FIFO`, `SCHED_RR`).
    public var policy: Int32
    /// The static priority (0 for `SCHED_OTHER`).
    public var priority: Int32

    public init(policy: Int32, priority: Int32) {
        self.policy = policy
        self.priority = priority
    }

    /// `thread`'s scheduling now (`SCHED_OTHER`, 0 if it cannot be read).
    public static func of(_ thread: pthread_t) -> ThreadScheduling {
        var policy: Int32 = 0
        var parameters = sched_param()
        guard pthread_getschedparam(thread, &policy, &parameters) == 0 else {
            return ThreadScheduling(policy: SCHED_OTHER, priority: 0)
        }
        return ThreadScheduling(policy: policy, priority: parameters.sched_priority)
    }

    /// Whether the policy is a real-time one.
    public var isRealtime: Bool { policy == SCHED_FIFO || policy == SCHED_RR }
}
