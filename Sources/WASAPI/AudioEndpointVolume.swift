import FoundationEssentials
import Glibc
import AudioGraph

/// `IAudioEndpointVolume`: the volume of an endpoint, shared by every process
/// on the JACK server and applied by each to its own streams on the endpoint
/// (JACK has no hardware volume to set).
///
/// - Range: ``minimumDB`` (-96 dB) to ``maximumDB`` (0 dB), step
///   ``incrementDB`` (0.5 dB): ``getVolumeStepInfo()`` reports 193 steps.
///   The minimum is applied as silence.
/// - Scalar levels are audio-tapered: linear in dB over the range, so
///   scalar 0.5 is -48 dB and scalar 0 the minimum.
/// - The level is kept as JACK metadata on the endpoint's first port, so it
///   lasts as long as the server; each process ramps its streams to a new
///   level over one period after JACK reports the change, and calls the
///   endpoint's ``AudioEndpointVolumeCallback``s with the changer's context.
///
/// Thread safety: any thread except JACK's; callbacks run on the engine's
/// control thread.
public final class AudioEndpointVolume: Sendable {
    public static let minimumDB: Float = -96
    public static let maximumDB: Float = 0
    public static let incrementDB: Float = 0.5

    public let device: MMDevice
    let endpoint: EndpointDescriptor
    let hub: SessionHub

    init(device: MMDevice, endpoint: EndpointDescriptor) {
        self.device = device
        self.endpoint = endpoint
        hub = SessionHub.shared(for: device.graph)
    }

    /// The linear gain of a level in dB (the minimum is silence).
    static func gain(dB: Float) -> Float { dB <= minimumDB ? 0 : powf(10, dB / 20) }
    /// The audio-tapered scalar of a level in dB.
    static func scalar(dB: Float) -> Float { (dB - minimumDB) / (maximumDB - minimumDB) }
    /// The level in dB of an audio-tapered scalar.
    static func decibels(scalar: Float) -> Float { minimumDB + scalar * (maximumDB - minimumDB) }

    // MARK: Queries

    /// `GetChannelCount`.
    public func getChannelCount() -> Int { current().channelDB.count }
    /// `GetMasterVolumeLevel`, dB.
    public func getMasterVolumeLevel() -> Float { current().masterDB }
    /// `GetMasterVolumeLevelScalar`.
    public func getMasterVolumeLevelScalar() -> Float { Self.scalar(dB: current().masterDB) }
    /// `GetMute`.
    public func getMute() -> Bool { current().mute }
    /// `GetVolumeRange`: minimum, maximum and increment in dB.
    public func getVolumeRange() -> (minimumDB: Float, maximumDB: Float, incrementDB: Float) {
        (Self.minimumDB, Self.maximumDB, Self.incrementDB)
    }
    /// `GetVolumeStepInfo`: the current step (nearest) and the step count.
    public func getVolumeStepInfo() -> (step: Int, stepCount: Int) {
        (Self.step(of: current().masterDB), Self.stepCount)
    }
    /// `QueryHardwareSupport`: 0, volume and mute are applied in software.
    public func queryHardwareSupport() -> UInt32 { 0 }

    /// `GetChannelVolumeLevel`, dB.
    public func getChannelVolumeLevel(_ channel: Int) throws(AudioError) -> Float {
        let levels = current().channelDB
        try checkChannel(channel, count: levels.count)
        return levels[channel]
    }

    /// `GetChannelVolumeLevelScalar`.
    public func getChannelVolumeLevelScalar(_ channel: Int) throws(AudioError) -> Float {
        Self.scalar(dB: try getChannelVolumeLevel(channel))
    }

    // MARK: Changes

    /// `SetMasterVolumeLevel`.
    /// - Throws: E_INVALIDARG outside ``minimumDB``...``maximumDB``.
    public func setMasterVolumeLevel(_ dB: Float, context: UUID? = nil) throws(AudioError) {
        try checkDB(dB)
        try change(context) { $0.masterDB = dB }
    }

    /// `SetMasterVolumeLevelScalar`.
    /// - Throws: E_INVALIDARG outside 0...1.
    public func setMasterVolumeLevelScalar(_ level: Float, context: UUID? = nil) throws(AudioError) {
        try checkScalar(level)
        try change(context) { $0.masterDB = Self.decibels(scalar: level) }
    }

    /// `SetChannelVolumeLevel`.
    public func setChannelVolumeLevel(_ channel: Int, dB: Float, context: UUID? = nil) throws(AudioError) {
        try checkChannel(channel, count: getChannelCount())
        try checkDB(dB)
        try change(context) { $0.channelDB[channel] = dB }
    }

    /// `SetChannelVolumeLevelScalar`.
    public func setChannelVolumeLevelScalar(_ channel: Int, level: Float, context: UUID? = nil) throws(AudioError) {
        try checkChannel(channel, count: getChannelCount())
        try checkScalar(level)
        try change(context) { $0.channelDB[channel] = Self.decibels(scalar: level) }
    }

    /// `SetMute`.
    public func setMute(_ mute: Bool, context: UUID? = nil) throws(AudioError) {
        try change(context) { $0.mute = mute }
    }

    /// `VolumeStepUp`: one ``incrementDB`` up from the nearest step (at most ``maximumDB``).
    public func volumeStepUp(context: UUID? = nil) throws(AudioError) {
        try change(context) { $0.masterDB = Self.level(ofStep: min(Self.step(of: $0.masterDB) + 1, Self.stepCount - 1)) }
    }

    /// `VolumeStepDown`: one ``incrementDB`` down from the nearest step (at least ``minimumDB``).
    public func volumeStepDown(context: UUID? = nil) throws(AudioError) {
        try change(context) { $0.masterDB = Self.level(ofStep: max(Self.step(of: $0.masterDB) - 1, 0)) }
    }

    // MARK: Callbacks

    /// `RegisterControlChangeNotify`.
    public func registerControlChangeNotify(_ callback: any AudioEndpointVolumeCallback) {
        hub.register(\.endpointCallbacks, endpoint: endpoint.id, session: nil, target: callback)
    }

    /// `UnregisterControlChangeNotify`.
    /// - Throws: E_NOTFOUND if it was not registered.
    public func unregisterControlChangeNotify(_ callback: any AudioEndpointVolumeCallback) throws(AudioError) {
        guard hub.unregister(\.endpointCallbacks, matching: { $0 === callback }) else {
            throw AudioError(.E_NOTFOUND, "this callback is not registered")
        }
    }

    // MARK: Helpers

    static let stepCount = Int((maximumDB - minimumDB) / incrementDB) + 1
    static func step(of dB: Float) -> Int { Int(((dB - minimumDB) / incrementDB).rounded()) }
    static func level(ofStep step: Int) -> Float { minimumDB + Float(step) * incrementDB }

    private func current() -> EndpointVolumeRecord { hub.endpointVolume(endpoint) }

    private func change(_ context: UUID?, _ modify: (inout EndpointVolumeRecord) -> Void) throws(AudioError) {
        guard device.state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
        }
        try hub.changeEndpointVolume(endpoint, context: UUID.context(context), modify)
    }

    private func checkDB(_ dB: Float) throws(AudioError) {
        guard dB.isFinite, dB >= Self.minimumDB, dB <= Self.maximumDB else {
            throw AudioError(.E_INVALIDARG, "\(dB) dB is outside \(Self.minimumDB)...\(Self.maximumDB) dB")
        }
    }

    private func checkScalar(_ level: Float) throws(AudioError) {
        guard SessionMetadata.isVolume(level) else {
            throw AudioError(.E_INVALIDARG, "volume levels must be between 0.0 and 1.0")
        }
    }

    private func checkChannel(_ channel: Int, count: Int) throws(AudioError) {
        guard channel >= 0 && channel < count else {
            throw AudioError(.E_INVALIDARG, "channel \(channel) does not exist; the endpoint has \(count)")
        }
    }
}
