/// A point on the monotonic clock, for waits that poll until something
/// happens or their time is up. Read on the clock, not by counting sleeps: a
/// 100 µs sleep takes 180 µs on this VM, and far longer when it is loaded.
///
/// Thread safety: a value; any thread. Reading it takes no lock.
public struct MonotonicDeadline: Sendable {
    /// The deadline, in ``trustedMonotonicNanoseconds()``.
    public let nanoseconds: UInt64

    /// `milliseconds` from now (a negative count: now).
    public init(millisecondsFromNow milliseconds: Int) {
        nanoseconds = trustedMonotonicNanoseconds() &+ UInt64(max(0, milliseconds)) &* 1_000_000
    }

    /// Whether the deadline is reached.
    public var hasPassed: Bool { trustedMonotonicNanoseconds() >= nanoseconds }
}
