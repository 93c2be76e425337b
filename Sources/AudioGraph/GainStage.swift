import Realtime
import Synchronization

/// The per-port gain of one stream after its format pipeline (session
/// volume, endpoint volume, ducking, mute: one factor per endpoint channel),
/// and the peak meter of what the stream put into (or took from) the graph.
///
/// A control thread publishes whole target snapshots with ``setTargets(_:)``;
/// the process thread ramps each channel linearly from the gain it last used
/// to the new target over the next cycle, so a change never clicks or zips.
/// After each cycle the stage stores every channel's peak (absolute value,
/// after gain) of that cycle, which any thread reads with ``peak(channel:)``.
///
/// Thread safety: ``setTargets(_:)`` from one control thread at a time (the
/// caller serialises; the WASAPI layer holds its session lock);
/// ``peak(channel:)`` from any thread; ``applyInPlace(_:frames:)``,
/// ``applyCopying(_:frames:)`` and ``meterSilence()`` on the engine's process thread
/// only, all `@_noLocks`.
public struct GainStage: ~Copyable, @unchecked Sendable {
    /// Channels (ports) the stage has.
    public let channels: Int
    private let targets: LatestValue
    /// The gain each channel ended the last cycle with (process thread only).
    private let current: UnsafeMutablePointer<Float>
    /// Bit patterns of the last cycle's peaks.
    private let peaks: UnsafeMutablePointer<Atomic<UInt32>>
    /// Capture: gained copies of the input planes (ports' buffers are shared
    /// with other clients and must not be written).
    private let copies: UnsafeMutablePointer<Float>?
    private let copyPlanes: UnsafeMutablePointer<UnsafePointer<Float>>?
    private let copyFrames: Int

    /// A unity-gain stage. `copyFrames` > 0 sizes the capture copies for
    /// cycles up to that many frames. Control path (allocates).
    public init(channels: Int, copyFrames: Int = 0) {
        self.channels = channels
        targets = LatestValue(repeating: 1, count: channels)
        current = .allocate(capacity: channels)
        current.initialize(repeating: 1, count: channels)
        peaks = .allocate(capacity: channels)
        for channel in 0..<channels { (peaks + channel).initialize(to: Atomic(0)) }
        self.copyFrames = copyFrames
        if copyFrames > 0 {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: channels * copyFrames)
            buffer.initialize(repeating: 0, count: channels * copyFrames)
            let planes = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: channels)
            for channel in 0..<channels { (planes + channel).initialize(to: UnsafePointer(buffer + channel * copyFrames)) }
            copies = buffer
            copyPlanes = planes
        } else {
            copies = nil
            copyPlanes = nil
        }
    }

    deinit {
        current.deallocate()
        peaks.deinitialize(count: channels)
        peaks.deallocate()
        copies?.deallocate()
        copyPlanes?.deallocate()
    }

    /// Publishes new target gains, one per channel (each finite and >= 0).
    /// Control path.
    public func setTargets(_ gains: [Float]) {
        precondition(gains.count == channels && gains.allSatisfy { $0.isFinite && $0 >= 0 }, "one finite gain per channel")
        targets.publish(floats: gains)
    }

    /// The peak (absolute sample value, after gain) of `channel` in the last
    /// cycle the stream ran; 0 while it is stopped. Any thread.
    public func peak(channel: Int) -> Float {
        guard channel >= 0 && channel < channels else { return 0 }
        return Float(bitPattern: peaks[channel].load(ordering: .relaxed))
    }

    // MARK: Process thread

    /// Render: applies the gains to the stream's own output planes in place
    /// and meters the result.
    @_noLocks
    public func applyInPlace(_ planes: UnsafePointer<UnsafeMutablePointer<Float>>, frames: Int) {
        let gains = targets.readFloats()
        for channel in 0..<channels {
            let plane = planes[channel]
            let peak = ramp(from: plane, to: plane, frames: frames, start: current[channel], end: gains[channel])
            current[channel] = gains[channel]
            peaks[channel].store(peak.bitPattern, ordering: .relaxed)
        }
    }

    /// Capture: the input planes with the gains applied, as gained copies
    /// (or the inputs themselves while every gain is, and was, exactly 1),
    /// metered. `frames` must not exceed the `copyFrames` of `init`.
    @_noLocks
    public func applyCopying(_ planes: UnsafePointer<UnsafePointer<Float>>, frames: Int) -> UnsafePointer<UnsafePointer<Float>> {
        let gains = targets.readFloats()
        var unity = true
        for channel in 0..<channels where gains[channel] != 1 || current[channel] != 1 { unity = false }
        guard !unity, let copies, let copyPlanes, frames <= copyFrames else {
            for channel in 0..<channels {
                let peak = ramp(from: planes[channel], to: nil, frames: frames, start: 1, end: 1)
                peaks[channel].store(peak.bitPattern, ordering: .relaxed)
            }
            return planes
        }
        for channel in 0..<channels {
            let peak = ramp(from: planes[channel], to: copies + channel * copyFrames, frames: frames,
                            start: current[channel], end: gains[channel])
            current[channel] = gains[channel]
            peaks[channel].store(peak.bitPattern, ordering: .relaxed)
        }
        return UnsafePointer(copyPlanes)
    }

    /// Records silence as the peak of every channel (a cycle the stream did not run).
    @_noLocks
    public func meterSilence() {
        for channel in 0..<channels { peaks[channel].store(0, ordering: .relaxed) }
    }

    /// Multiplies `frames` samples by a gain going linearly from `start`
    /// (exclusive) to `end` (reached on the last frame), writing to
    /// `destination` (nil: measure only). Returns the peak of the result.
    @_noLocks
    private func ramp(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>?,
                      frames: Int, start: Float, end: Float) -> Float {
        var peak: Float = 0
        if start == end {
            for frame in 0..<frames {
                let value = source[frame] * end
                destination?[frame] = value
                peak = max(peak, abs(value))
            }
        } else {
            let step = (end - start) / Float(max(frames, 1))
            for frame in 0..<frames {
                let value = source[frame] * (start + step * Float(frame + 1))
                destination?[frame] = value
                peak = max(peak, abs(value))
            }
        }
        return peak
    }
}
