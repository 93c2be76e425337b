import FoundationEssentials
/// `IAudioSessionEvents`: what happens to one session, wherever the change
/// came from (this process or another on the server).
///
/// Register with ``AudioSessionControl/registerAudioSessionNotification(_:)``.
/// Callbacks run on the engine's control thread, one at a time and in order,
/// with no library lock held (a callback may call back into the library; it
/// should return quickly). Every method has an empty default.
public protocol AudioSessionEvents: AnyObject, Sendable {
    /// `OnDisplayNameChanged`.
    func onDisplayNameChanged(_ displayName: String, context: UUID?)
    /// `OnIconPathChanged`.
    func onIconPathChanged(_ iconPath: String, context: UUID?)
    /// `OnSimpleVolumeChanged`: `context` is the event context the changer
    /// passed (nil when it passed none).
    func onSimpleVolumeChanged(volume: Float, mute: Bool, context: UUID?)
    /// `OnChannelVolumeChanged`: `changedChannel` is the channel that changed,
    /// or -1 when several did.
    func onChannelVolumeChanged(channelVolumes: [Float], changedChannel: Int, context: UUID?)
    /// `OnGroupingParamChanged`.
    func onGroupingParamChanged(_ grouping: UUID, context: UUID?)
    /// `OnStateChanged`.
    func onStateChanged(_ state: AudioSessionState)
    /// `OnSessionDisconnected` (no context: the system is always the source).
    func onSessionDisconnected(_ reason: AudioSessionDisconnectReason)
}

extension AudioSessionEvents {
    public func onDisplayNameChanged(_ displayName: String, context: UUID?) {}
    public func onIconPathChanged(_ iconPath: String, context: UUID?) {}
    public func onSimpleVolumeChanged(volume: Float, mute: Bool, context: UUID?) {}
    public func onChannelVolumeChanged(channelVolumes: [Float], changedChannel: Int, context: UUID?) {}
    public func onGroupingParamChanged(_ grouping: UUID, context: UUID?) {}
    public func onStateChanged(_ state: AudioSessionState) {}
    public func onSessionDisconnected(_ reason: AudioSessionDisconnectReason) {}
}

/// `IAudioSessionNotification`: a session was created on the endpoint, in
/// this or another process. Called on the engine's control thread.
public protocol AudioSessionNotification: AnyObject, Sendable {
    func onSessionCreated(_ session: AudioSessionControl)
}

/// `IAudioVolumeDuckNotification`. Called on the engine's control thread.
public protocol AudioVolumeDuckNotification: AnyObject, Sendable {
    /// Ducking begins: `sessionID` is the instance identifier of the
    /// communications session that caused it; `countCommunicationSessions`
    /// how many communications sessions are active on the endpoint.
    func onVolumeDuckNotification(sessionID: String, countCommunicationSessions: Int)
    /// Ducking ends: the communications session `sessionID` stopped.
    func onVolumeUnduckNotification(sessionID: String)
}

/// `IAudioEndpointVolumeCallback`. Called on the engine's control thread.
public protocol AudioEndpointVolumeCallback: AnyObject, Sendable {
    func onNotify(_ data: AudioVolumeNotificationData)
}

/// `AUDIO_VOLUME_NOTIFICATION_DATA`.
public struct AudioVolumeNotificationData: Sendable, Equatable {
    /// The context the changer passed (nil for none).
    public var eventContext: UUID?
    public var muted: Bool
    /// Master volume as a scalar (0...1, audio-tapered).
    public var masterVolume: Float
    /// Channel volumes as scalars.
    public var channelVolumes: [Float]
}
