import FoundationEssentials
/// `ISimpleAudioVolume`: the master volume and mute of a session, of this
/// process or of another on the server.
///
/// A change to another process's session is a request that process applies
/// within a period of JACK reporting it; every process with events registered
/// on the session then gets `OnSimpleVolumeChanged` with `context`. Volumes
/// are linear gains (0.25 is -12 dB) and ramp over one JACK period.
///
/// Thread safety: any thread except JACK's.
public final class SimpleAudioVolume: Sendable {
    let hub: SessionHub
    let instance: String

    /// Keeps this process's session from expiring while this object exists.
    let hold: SessionHold

    init(hub: SessionHub, instance: String) {
        self.hub = hub
        self.instance = instance
        hold = SessionHold(hub: hub, instance: instance)
    }

    /// `SetMasterVolume`.
    /// - Throws: E_INVALIDARG outside 0...1 (or for a context that is not a GUID).
    public func setMasterVolume(_ level: Float, context: UUID? = nil) throws(AudioError) {
        try hub.requestChange(instance, volume: level, context: UUID.context(context))
    }

    /// `GetMasterVolume` (as last published).
    public func getMasterVolume() throws(AudioError) -> Float { try hub.record(of: instance).volume }

    /// `SetMute`.
    public func setMute(_ mute: Bool, context: UUID? = nil) throws(AudioError) {
        try hub.requestChange(instance, mute: mute, context: UUID.context(context))
    }

    /// `GetMute` (as last published).
    public func getMute() throws(AudioError) -> Bool { try hub.record(of: instance).mute }
}

/// `IChannelAudioVolume`: a session's volume per endpoint channel (the mix
/// format's channels), of this process or of another on the server.
///
/// Thread safety: any thread except JACK's.
public final class ChannelAudioVolume: Sendable {
    let hub: SessionHub
    let instance: String

    /// Keeps this process's session from expiring while this object exists.
    let hold: SessionHold

    init(hub: SessionHub, instance: String) {
        self.hub = hub
        self.instance = instance
        hold = SessionHold(hub: hub, instance: instance)
    }

    /// `GetChannelCount`.
    public func getChannelCount() throws(AudioError) -> Int { try getAllVolumes().count }

    /// `GetAllVolumes`.
    public func getAllVolumes() throws(AudioError) -> [Float] { try hub.record(of: instance).channels }

    /// `GetChannelVolume`.
    public func getChannelVolume(_ index: Int) throws(AudioError) -> Float {
        let volumes = try getAllVolumes()
        guard volumes.indices.contains(index) else {
            throw AudioError(.E_INVALIDARG, "channel \(index) does not exist; the session has \(volumes.count)")
        }
        return volumes[index]
    }

    /// `SetChannelVolume`.
    public func setChannelVolume(_ index: Int, level: Float, context: UUID? = nil) throws(AudioError) {
        var volumes = try getAllVolumes()
        guard volumes.indices.contains(index) else {
            throw AudioError(.E_INVALIDARG, "channel \(index) does not exist; the session has \(volumes.count)")
        }
        volumes[index] = level
        try setAllVolumes(volumes, context: context)
    }

    /// `SetAllVolumes`: one level (0...1) per channel.
    public func setAllVolumes(_ levels: [Float], context: UUID? = nil) throws(AudioError) {
        try hub.requestChange(instance, channels: levels, context: UUID.context(context))
    }
}
