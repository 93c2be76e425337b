import FoundationEssentials
import AudioGraph

// The session services of an audio client (GetService for
// IAudioSessionControl, ISimpleAudioVolume, IChannelAudioVolume) and the
// stream category (IAudioClient2::SetClientProperties). Same thread rules as
// the rest of AudioClient.
extension AudioClient {
    /// `IAudioClient2::SetClientProperties`: the stream's category. A
    /// ``AudioStreamCategory/communications`` stream ducks the other sessions
    /// on its endpoint while it runs.
    /// - Throws: AUDCLNT_E_ALREADY_INITIALIZED after Initialize, as on Windows.
    public func setClientProperties(category: AudioStreamCategory) throws(AudioError) {
        try state.withLock { state throws(AudioError) in
            guard state.stream == nil else {
                throw AudioError(.AUDCLNT_E_ALREADY_INITIALIZED, "set the client properties before Initialize")
            }
            state.category = category
        }
    }

    /// `GetService(IAudioSessionControl)`: the session the stream belongs to.
    public func getSessionControl() throws(AudioError) -> AudioSessionControl {
        let membership = try sessionMembership()
        return AudioSessionControl(hub: membership.hub, instance: membership.instance)
    }

    /// `GetService(ISimpleAudioVolume)`: the session's master volume and mute.
    public func getSimpleAudioVolume() throws(AudioError) -> SimpleAudioVolume {
        try getSessionControl().simpleAudioVolume()
    }

    /// `GetService(IChannelAudioVolume)`: the session's channel volumes.
    public func getChannelAudioVolume() throws(AudioError) -> ChannelAudioVolume {
        try getSessionControl().channelAudioVolume()
    }

    private func sessionMembership() throws(AudioError) -> SessionMembership {
        try withStream { _, state throws(AudioError) in
            guard let membership = state.session else {
                throw AudioError(.AUDCLNT_E_NOT_INITIALIZED, "the stream has no session")
            }
            return membership
        }
    }

    /// Joins the stream just initialised to its session. Called under the client's lock.
    func joinSession(_ stream: StreamResources, guid: String, state: inout State) {
        let gains: SessionHub.MemberGains = stream.isLoopback ? .none : (state.shareMode == .exclusive ? .endpointOnly : .all)
        state.session = SessionHub.shared(for: device.graph).attach(stream, guid: guid, category: state.category, gains: gains)
    }

    /// The session GUID a stream joins: `guid`, or the process's default
    /// session for nil or GUID_NULL.
    /// - Throws: E_INVALIDARG for a string that is not a GUID.
    static func sessionGUID(_ guid: UUID?) -> String {
        guard let guid, guid != .null else { return processSessionGUID }
        return guid.registryFormat
    }
}
