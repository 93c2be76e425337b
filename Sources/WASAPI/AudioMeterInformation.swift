/// `IAudioMeterInformation`: peak meters, measured in software by the
/// process thread (after every gain: what the streams put into or took from
/// the JACK graph).
///
/// - Endpoint meter (``MMDevice/activateMeterInformation()``): per channel,
///   the highest peak among this process's streams on the endpoint (other
///   processes' samples never pass through this one; loopback streams are
///   not counted).
/// - Session meter (``AudioSessionControl/meterInformation()``): the same
///   over the session's streams.
///
/// A peak is the largest absolute sample value of the last JACK period (0
/// while no stream runs), as a linear value 0...1 (it can exceed 1 when the
/// application renders beyond full scale).
///
/// Thread safety: any thread; reading never blocks the process thread.
public final class AudioMeterInformation: Sendable {
    let hub: SessionHub
    let endpoint: String
    let instance: String?
    let channels: Int

    init(hub: SessionHub, endpoint: String, instance: String?, channels: Int) {
        self.hub = hub
        self.endpoint = endpoint
        self.instance = instance
        self.channels = channels
    }

    /// `GetPeakValue`: the highest of the channels' peaks.
    public func getPeakValue() -> Float { getChannelsPeakValues().max() ?? 0 }

    /// `GetMeteringChannelCount`: the endpoint's channels.
    public func getMeteringChannelCount() -> Int { channels }

    /// `GetChannelsPeakValues`.
    public func getChannelsPeakValues() -> [Float] {
        hub.peaks(endpoint: endpoint, instance: instance, channels: channels)
    }

    /// `QueryHardwareSupport`: 0, metering is done in software.
    public func queryHardwareSupport() -> UInt32 { 0 }
}
