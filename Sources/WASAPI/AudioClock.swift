import AudioGraph
import Realtime

/// `IAudioClock` / `IAudioClock2`: the stream's position, from the engine's cycle clock.
///
/// In shared mode the frequency is the stream's bytes per second and
/// positions count bytes; in exclusive mode it is the sample rate and
/// positions count frames (as Windows reports them). The QPC values are
/// 100-ns units of the monotonic clock. While a render stream runs, its
/// position is the frame now leaving the endpoint: the frames the engine
/// took from the buffer before the current period plus the part of it
/// played so far, minus the latency between the stream and the hardware
/// (resampler plus JACK's reported playback latency). Once stopped, or
/// played out (the buffer empty), it is exactly the frames taken (written
/// minus padding), and it does not move until the next Start, as on
/// Windows. It never goes backwards.
///
/// Thread safety: any thread except JACK's.
public final class AudioClock: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `GetFrequency`: position units per second.
    public func getFrequency() throws(AudioError) -> UInt64 {
        try client.withStream { stream, state in
            UInt64(state.shareMode == .exclusive ? stream.format.samplesPerSecond : stream.format.averageBytesPerSecond)
        }
    }

    /// `GetCharacteristics`: always 0 (no characteristics are defined).
    public func getCharacteristics() -> UInt32 { 0 }

    /// `GetPosition`: (position in frequency units, QPC time of the reading).
    public func getPosition() throws(AudioError) -> (position: UInt64, qpcPosition: UInt64) {
        try client.withStream { stream, state in
            let now = stream.engine.nowNanoseconds
            let frames = Self.streamFrames(stream: stream, atNanoseconds: now, running: state.running)
            let unit = state.shareMode == .exclusive ? 1 : UInt64(stream.format.blockAlign)
            let position = max(frames * unit, state.lastReportedPosition)
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

    /// The stream-frame position at `nanoseconds`: the frames taken
    /// (render) or offered (capture) when stopped or, for render, played
    /// out; otherwise interpolated within the last cycle (render: less the
    /// latency to the hardware).
    static func streamFrames(stream: StreamResources, atNanoseconds now: UInt64, running: Bool) -> UInt64 {
        let slot = stream.slot.pointer
        let taken = stream.streamFramesMoved()
        let playedOut = stream.direction == .render && stream.padding() == 0
        guard running && !playedOut else { return taken }
        let engineRate = Double(stream.engineRate)
        let streamRate = Double(stream.format.samplesPerSecond)
        let cycleStart = slot.pointee.lastCycleNanoseconds.load(ordering: .acquiring)
        let cycleFrames = Double(slot.pointee.lastCycleFrames.load(ordering: .relaxed)) * streamRate / engineRate
        guard stream.direction == .render else {
            // Capture: the frames of the cycle under way arrive as it goes.
            let elapsed = now > cycleStart ? Double(now - cycleStart) / 1e9 * streamRate : 0
            return taken + UInt64(min(elapsed, cycleFrames))
        }
        // The last cycle's frames were taken at its start and play during it.
        var played = Double(taken) - cycleFrames
        if cycleFrames > 0 && now > cycleStart {
            played += min(Double(now - cycleStart) / 1e9 * streamRate, cycleFrames)
        }
        played -= (Double(stream.graphLatencyFrames(now: now)) + stream.resamplerLatencyFrames) * streamRate / engineRate
        return played > 0 ? min(UInt64(played), taken) : 0
    }
}

/// `IAudioClockAdjustment`: changes a RATEADJUST stream's sample rate while it runs.
///
/// Thread safety: any thread except JACK's; the stream's converter, on the
/// application's thread, glides to the new rate over the next frames it
/// converts (render: at the next ReleaseBuffer; capture: before GetBuffer).
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
