import AudioGraph
import Realtime

/// `IAudioClock` / `IAudioClock2`: the stream's position, from the engine's cycle clock.
///
/// In shared mode the frequency is the stream's bytes per second and
/// positions count bytes, as Windows reports them; the QPC values are
/// 100-ns units of the monotonic clock. The render position is the frame
/// now leaving the endpoint: frames the engine took from the buffer,
/// interpolated within the current period, minus the latency between the
/// stream and the hardware (resampler plus JACK's reported playback latency).
/// It never goes backwards.
///
/// Thread safety: any thread except JACK's.
public final class AudioClock: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `GetFrequency`: position units per second.
    public func getFrequency() throws(AudioError) -> UInt64 {
        try client.withStream { stream, _ in UInt64(stream.format.averageBytesPerSecond) }
    }

    /// `GetCharacteristics`: always 0 (no characteristics are defined).
    public func getCharacteristics() -> UInt32 { 0 }

    /// `GetPosition`: (position in frequency units, QPC time of the reading).
    public func getPosition() throws(AudioError) -> (position: UInt64, qpcPosition: UInt64) {
        try client.withStream { stream, state in
            let now = stream.engine.nowNanoseconds
            let frames = Self.streamFrames(stream: stream, atNanoseconds: now)
            let position = max(frames * UInt64(stream.format.blockAlign), state.lastReportedPosition)
            state.lastReportedPosition = position
            return (position, now / 100)
        }
    }

    /// `IAudioClock2::GetDevicePosition`: engine frames moved while running, and when.
    public func getDevicePosition() throws(AudioError) -> (position: UInt64, qpcPosition: UInt64) {
        try client.withStream { stream, _ in
            let slot = stream.slot.pointer
            return (slot.pointee.devicePosition.load(ordering: .acquiring),
                    slot.pointee.lastCycleNanoseconds.load(ordering: .acquiring) / 100)
        }
    }

    /// The stream-frame position at `nanoseconds`.
    static func streamFrames(stream: StreamResources, atNanoseconds now: UInt64) -> UInt64 {
        let slot = stream.slot.pointer
        let engineRate = Double(stream.engineRate)
        let streamRate = Double(stream.format.samplesPerSecond)
        let base = Double(stream.streamFramesMoved())
        let cycleStart = slot.pointee.lastCycleNanoseconds.load(ordering: .acquiring)
        let cycleFrames = Double(slot.pointee.lastCycleFrames.load(ordering: .relaxed))
        var interpolated = 0.0
        if cycleFrames > 0 && now > cycleStart {
            let elapsedFrames = Double(now - cycleStart) / 1e9 * streamRate
            interpolated = min(elapsedFrames, cycleFrames * streamRate / engineRate)
        }
        var position = base + interpolated
        if stream.direction == .render {
            position -= (Double(stream.graphLatencyFrames()) + stream.resamplerLatencyFrames) * streamRate / engineRate
        }
        return position > 0 ? UInt64(position) : 0
    }
}

/// `IAudioClockAdjustment`: changes a RATEADJUST stream's sample rate while it runs.
///
/// Thread safety: any thread except JACK's; the process thread applies the
/// new rate at its next cycle, gliding to it within that period.
public final class AudioClockAdjustment: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `SetSampleRate`: the rate the application now produces (render) or wants (capture).
    /// - Throws: E_INVALIDARG for a rate the resampler cannot reach from the engine's.
    public func setSampleRate(_ rate: Double) throws(AudioError) {
        try client.withStream { stream, _ throws(AudioError) in
            let engineRate = Double(stream.engineRate)
            let ratio = stream.direction == .render ? engineRate / rate : rate / engineRate
            guard rate.isFinite, rate > 0, ratio >= 1.0 / 256, ratio <= 256 else {
                throw AudioError(.E_INVALIDARG, "\(rate) Hz is outside what the resampler reaches from \(Int(engineRate)) Hz")
            }
            stream.setRatio(ratio)
        }
    }
}
