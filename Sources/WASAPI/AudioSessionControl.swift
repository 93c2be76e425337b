import FoundationEssentials
/// `IAudioSessionControl` / `IAudioSessionControl2`: one audio session, of
/// this process or of another process on the same JACK server.
///
/// Getters read the session's state as last published; setters of display
/// name, icon, grouping and ducking preference are for the owning process
/// (another process gets E_ACCESSDENIED). Volumes are changed through
/// ``simpleAudioVolume()`` and ``channelAudioVolume()`` from any process.
///
/// Thread safety: any thread except JACK's.
public final class AudioSessionControl: Sendable {
    let hub: SessionHub
    let instance: String

    /// Keeps this process's session from expiring while this object exists.
    let hold: SessionHold

    init(hub: SessionHub, instance: String) {
        self.hub = hub
        self.instance = instance
        hold = SessionHold(hub: hub, instance: instance)
    }

    func record() throws(AudioError) -> SessionRecord { try hub.record(of: instance) }

    /// Whether the session belongs to this process.
    public var isOwnedByThisProcess: Bool { hub.lookup(instance)?.isLocal ?? false }

    /// The id of the endpoint the session is on.
    public func getEndpointID() throws(AudioError) -> String { try record().endpoint }
    /// The session GUID streams pass to Initialize to join it.
    public func getSessionGUID() throws(AudioError) -> UUID { UUID(registryFormat: try record().guid) ?? .null }

    // MARK: IAudioSessionControl

    /// `GetState`.
    public func getState() throws(AudioError) -> AudioSessionState { try record().state }
    /// `GetDisplayName` ("" until one is set).
    public func getDisplayName() throws(AudioError) -> String { try record().displayName }
    /// `GetIconPath`.
    public func getIconPath() throws(AudioError) -> String { try record().iconPath }
    /// `GetGroupingParam`.
    public func getGroupingParam() throws(AudioError) -> UUID { UUID(registryFormat: try record().grouping) ?? .null }

    /// `SetDisplayName` (at most 200 characters).
    public func setDisplayName(_ name: String, context: UUID? = nil) throws(AudioError) {
        try checkText(name, "display name")
        try hub.changeLocal(instance, context: UUID.context(context)) { $0.displayName = name }
    }

    /// `SetIconPath` (at most 200 characters).
    public func setIconPath(_ path: String, context: UUID? = nil) throws(AudioError) {
        try checkText(path, "icon path")
        try hub.changeLocal(instance, context: UUID.context(context)) { $0.iconPath = path }
    }

    /// `SetGroupingParam`: a GUID shared by sessions that belong together.
    public func setGroupingParam(_ grouping: UUID, context: UUID? = nil) throws(AudioError) {
        try hub.changeLocal(instance, context: UUID.context(context)) { $0.grouping = grouping.registryFormat }
    }

    /// `RegisterAudioSessionNotification`.
    /// - Throws: E_INVALIDARG if `events` is already registered on this session.
    public func registerAudioSessionNotification(_ events: any AudioSessionEvents) throws(AudioError) {
        let registered = hub.state.withLock { state in
            state.sessionEvents.contains { $0.session == instance && $0.target === events }
        }
        guard !registered else { throw AudioError(.E_INVALIDARG, "these events are already registered on the session") }
        hub.register(\.sessionEvents, endpoint: nil, session: instance, target: events)
    }

    /// `UnregisterAudioSessionNotification`.
    /// - Throws: E_NOTFOUND if it was not registered.
    public func unregisterAudioSessionNotification(_ events: any AudioSessionEvents) throws(AudioError) {
        let instance = self.instance
        let removed = hub.state.withLock { state in
            let before = state.sessionEvents.count
            state.sessionEvents.removeAll { $0.session == instance && $0.target === events }
            return before != state.sessionEvents.count
        }
        guard removed else { throw AudioError(.E_NOTFOUND, "these events are not registered on the session") }
    }

    // MARK: IAudioSessionControl2

    /// `GetSessionIdentifier`: `ENDPOINT|EXECUTABLE%bGUID`, the same for the
    /// session in every run of the program.
    public func getSessionIdentifier() throws(AudioError) -> String { try record().identifier }
    /// `GetSessionInstanceIdentifier`: the identifier and the process id,
    /// unique on the server.
    public func getSessionInstanceIdentifier() throws(AudioError) -> String { try record().instance }
    /// `GetProcessId`.
    public func getProcessId() throws(AudioError) -> Int32 { try record().pid }
    /// `IsSystemSoundsSession`: true when every stream of the session is of
    /// the ``AudioStreamCategory/alerts`` category.
    public func isSystemSoundsSession() throws(AudioError) -> Bool { try record().systemSounds }

    /// `SetDuckingPreference`: `optOut` true keeps the session at full
    /// volume while communications streams run.
    public func setDuckingPreference(optOut: Bool) throws(AudioError) {
        try hub.changeLocal(instance, context: UUID.context(nil)) { $0.duckingOptOut = optOut }
    }

    // MARK: Other interfaces of the session object

    /// `QueryInterface(ISimpleAudioVolume)`.
    public func simpleAudioVolume() -> SimpleAudioVolume { SimpleAudioVolume(hub: hub, instance: instance) }
    /// `QueryInterface(IChannelAudioVolume)`.
    public func channelAudioVolume() -> ChannelAudioVolume { ChannelAudioVolume(hub: hub, instance: instance) }

    /// `QueryInterface(IAudioMeterInformation)`: the session's peak meter.
    /// - Throws: E_NOINTERFACE for another process's session (its samples
    ///   never reach this process).
    public func meterInformation() throws(AudioError) -> AudioMeterInformation {
        let found = try record()
        guard isOwnedByThisProcess else {
            throw AudioError(.E_NOINTERFACE, "the meter of another process's session is not available on JACK")
        }
        return AudioMeterInformation(hub: hub, endpoint: found.endpoint, instance: instance, channels: found.channels.count)
    }

    private func checkText(_ text: String, _ what: String) throws(AudioError) {
        guard text.count <= SessionMetadata.maximumTextLength else {
            throw AudioError(.E_INVALIDARG, "the \(what) is longer than \(SessionMetadata.maximumTextLength) characters")
        }
    }
}
