import Realtime

/// The engine's cycle clock as the process thread last saw it: the basis of
/// `IAudioClock` positions and QPC times.
///
/// `frameTime` is the engine's frame counter at the start of the cycle (it
/// wraps at 2^32); the microsecond times come from the engine's clock
/// (JACK's is CLOCK_MONOTONIC on Linux, the same clock QPC positions use here;
/// the simulator's is virtual).
///
/// Plain value; any thread.
public struct CycleClock: Sendable, Equatable {
    public init(frameTime: UInt32, cycleStartMicroseconds: UInt64, nextCycleMicroseconds: UInt64,
                periodMicroseconds: Float, frames: UInt32, cycleCount: UInt64) {
        self.frameTime = frameTime
        self.cycleStartMicroseconds = cycleStartMicroseconds
        self.nextCycleMicroseconds = nextCycleMicroseconds
        self.periodMicroseconds = periodMicroseconds
        self.frames = frames
        self.cycleCount = cycleCount
    }

    /// The engine's frame time at the start of the current cycle.
    public var frameTime: UInt32
    /// CLOCK_MONOTONIC microseconds at the start of the current cycle.
    public var cycleStartMicroseconds: UInt64
    /// Estimated start of the next cycle.
    public var nextCycleMicroseconds: UInt64
    /// Estimated period length in microseconds.
    public var periodMicroseconds: Float
    /// Frames in the current cycle (the buffer size).
    public var frames: UInt32
    /// Cycles published so far (0: no cycle has run yet).
    public var cycleCount: UInt64

    public static let wordCount = 5

    /// Publishes one cycle's times. Process thread; `@_noLocks`.
    @_noLocks @inlinable
    public static func publish(frameTime: UInt32, microseconds: UInt64, nextMicroseconds: UInt64,
                               periodMicroseconds: Float, frames: UInt32, into cell: borrowing SeqlockCell) {
        cell.beginWrite()
        cell.storeWord(0, UInt64(frameTime))
        cell.storeWord(1, microseconds)
        cell.storeWord(2, nextMicroseconds)
        cell.storeWord(3, UInt64(periodMicroseconds.bitPattern))
        cell.storeWord(4, UInt64(frames))
        cell.endWrite()
    }

    /// Loads the newest snapshot from `cell`. Any thread.
    public static func load(from cell: borrowing SeqlockCell) -> CycleClock {
        var words = [UInt64](repeating: 0, count: wordCount)
        let count = words.withUnsafeMutableBufferPointer { cell.load(into: $0) }
        return CycleClock(
            frameTime: UInt32(truncatingIfNeeded: words[0]), cycleStartMicroseconds: words[1],
            nextCycleMicroseconds: words[2], periodMicroseconds: Float(bitPattern: UInt32(truncatingIfNeeded: words[3])),
            frames: UInt32(truncatingIfNeeded: words[4]), cycleCount: count)
    }
}
