import AudioGraph
import Realtime

/// `IAudioStreamVolume`: per-channel gain of one stream, applied by the
/// process thread without locks (the values are published as a whole).
///
/// The levels are kept on the control side (`StreamResources.streamVolumes`,
/// under the audio client's lock) and only published to the pipeline's
/// `LatestValue`, whose one reader is the process thread: reading it here
/// would make a second reader, and the two could swap the same slot.
///
/// Thread safety: any thread except JACK's.
public final class AudioStreamVolume: Sendable {
    let client: AudioClient

    init(client: AudioClient) { self.client = client }

    /// `GetChannelCount`: the stream's channels.
    public func getChannelCount() throws(AudioError) -> Int {
        try client.withStream { stream, _ in Int(stream.format.channels) }
    }

    /// `GetChannelVolume`.
    public func getChannelVolume(_ index: Int) throws(AudioError) -> Float {
        let volumes = try getAllVolumes()
        guard volumes.indices.contains(index) else {
            throw AudioError(.E_INVALIDARG, "channel \(index) does not exist; the stream has \(volumes.count)")
        }
        return volumes[index]
    }

    /// `SetChannelVolume`: `level` between 0 and 1. The other channels keep
    /// their levels, even when another thread sets them at the same time.
    public func setChannelVolume(_ index: Int, level: Float) throws(AudioError) {
        try client.withStream { stream, _ throws(AudioError) in
            var volumes = stream.streamVolumes
            guard volumes.indices.contains(index) else {
                throw AudioError(.E_INVALIDARG, "channel \(index) does not exist; the stream has \(volumes.count)")
            }
            volumes[index] = level
            try Self.publish(volumes, to: stream)
        }
    }

    /// `GetAllVolumes`.
    public func getAllVolumes() throws(AudioError) -> [Float] {
        try client.withStream { stream, _ in stream.streamVolumes }
    }

    /// `SetAllVolumes`: one level per channel, each between 0 and 1.
    public func setAllVolumes(_ levels: [Float]) throws(AudioError) {
        try client.withStream { stream, _ throws(AudioError) in try Self.publish(levels, to: stream) }
    }

    /// Checks `levels`, keeps them as the control side's copy and publishes
    /// them to the process thread. Under the audio client's lock.
    private static func publish(_ levels: [Float], to stream: StreamResources) throws(AudioError) {
        guard levels.count == Int(stream.format.channels) else {
            throw AudioError(.E_INVALIDARG, "\(levels.count) levels for \(stream.format.channels) channels")
        }
        guard levels.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw AudioError(.E_INVALIDARG, "volume levels must be between 0.0 and 1.0")
        }
        stream.streamVolumes = levels
        stream.slot.pointer.pointee.pipeline.pointee.volumes.publish(floats: levels)
    }
}
