import AudioGraph
import Realtime

/// `IAudioStreamVolume`: per-channel gain of one stream, applied by the
/// process thread without locks (the values are published as a whole).
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

    /// `SetChannelVolume`: `level` between 0 and 1.
    public func setChannelVolume(_ index: Int, level: Float) throws(AudioError) {
        var volumes = try getAllVolumes()
        guard volumes.indices.contains(index) else {
            throw AudioError(.E_INVALIDARG, "channel \(index) does not exist; the stream has \(volumes.count)")
        }
        volumes[index] = level
        try setAllVolumes(volumes)
    }

    /// `GetAllVolumes`.
    public func getAllVolumes() throws(AudioError) -> [Float] {
        try client.withStream { stream, _ in
            Array(stream.slot.pointer.pointee.pipeline.pointee.volumes.readFloats())
        }
    }

    /// `SetAllVolumes`: one level per channel, each between 0 and 1.
    public func setAllVolumes(_ levels: [Float]) throws(AudioError) {
        try client.withStream { stream, _ throws(AudioError) in
            guard levels.count == Int(stream.format.channels) else {
                throw AudioError(.E_INVALIDARG, "\(levels.count) levels for \(stream.format.channels) channels")
            }
            guard levels.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw AudioError(.E_INVALIDARG, "volume levels must be between 0.0 and 1.0")
            }
            stream.slot.pointer.pointee.pipeline.pointee.volumes.publish(floats: levels)
        }
    }
}
