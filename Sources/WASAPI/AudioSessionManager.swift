import FoundationEssentials
/// `IAudioSessionManager2` of one endpoint: the sessions of every process on
/// the JACK server on that endpoint, their creation and ducking
/// notifications, and the user's ducking preference.
///
/// Activate it with ``MMDevice/activateSessionManager()``. Keep it while
/// its notifications are registered: registrations of a process on a server
/// end when the last object of the session API there (managers, session
/// controls, volumes, meters, audio clients) is released.
///
/// Thread safety: any thread except JACK's. Notifications are called on the
/// engine's control thread.
public final class AudioSessionManager: Sendable {
    public let device: MMDevice
    let hub: SessionHub

    init(device: MMDevice) {
        self.device = device
        hub = SessionHub.shared(for: device.graph)
    }

    /// `GetSessionEnumerator`: a snapshot of the sessions on the endpoint,
    /// of every process whose JACK client is still registered.
    public func getSessionEnumerator() -> AudioSessionEnumerator {
        AudioSessionEnumerator(sessions: hub.sessions(onEndpoint: device.id).map {
            AudioSessionControl(hub: hub, instance: $0.instance)
        })
    }

    /// `GetAudioSessionControl`: this process's session `sessionGUID` (nil:
    /// the process's default session) on the endpoint, created if needed.
    /// - Throws: AUDCLNT_E_DEVICE_INVALIDATED when the endpoint is not present.
    public func getAudioSessionControl(sessionGUID: UUID? = nil) throws(AudioError) -> AudioSessionControl {
        guard let endpoint = device.descriptor, device.state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
        }
        let guid = AudioClient.sessionGUID(sessionGUID)
        let key = hub.ensureSession(endpoint: endpoint, guid: guid)
        let instance = hub.state.withLock { $0.local[key]?.record.instance ?? "" }
        return AudioSessionControl(hub: hub, instance: instance)
    }

    /// `GetSimpleAudioVolume`: the master volume of this process's session `sessionGUID`.
    public func getSimpleAudioVolume(sessionGUID: UUID? = nil) throws(AudioError) -> SimpleAudioVolume {
        try getAudioSessionControl(sessionGUID: sessionGUID).simpleAudioVolume()
    }

    /// `RegisterSessionNotification`: `notification` hears of sessions
    /// created on the endpoint from now on, in any process.
    public func registerSessionNotification(_ notification: any AudioSessionNotification) {
        hub.register(\.sessionCreated, endpoint: device.id, session: nil, target: notification)
    }

    /// `UnregisterSessionNotification`.
    /// - Throws: E_NOTFOUND if it was not registered.
    public func unregisterSessionNotification(_ notification: any AudioSessionNotification) throws(AudioError) {
        guard hub.unregister(\.sessionCreated, matching: { $0 === notification }) else {
            throw AudioError(.E_NOTFOUND, "this session notification is not registered")
        }
    }

    /// `RegisterDuckNotification`: `notification` hears when communications
    /// sessions on the endpoint start and stop ducking. `sessionID` (a session
    /// instance identifier) limits it to the times that session is ducked;
    /// nil: every time.
    public func registerDuckNotification(sessionID: String?, _ notification: any AudioVolumeDuckNotification) {
        hub.register(\.duck, endpoint: device.id, session: sessionID, target: notification)
    }

    /// `UnregisterDuckNotification`.
    /// - Throws: E_NOTFOUND if it was not registered.
    public func unregisterDuckNotification(_ notification: any AudioVolumeDuckNotification) throws(AudioError) {
        guard hub.unregister(\.duck, matching: { $0 === notification }) else {
            throw AudioError(.E_NOTFOUND, "this duck notification is not registered")
        }
    }

    /// How much other sessions are attenuated while a communications stream
    /// runs, for every process on the server (Windows' Communications
    /// setting). Default ``DuckingPreference/reduceBy80Percent``.
    public var duckingPreference: DuckingPreference { hub.duckingPreference() }

    /// Stores the ducking preference for every process on the server; each
    /// applies it to its ducked sessions at once.
    /// - Throws: E_ACCESSDENIED when the setting cannot be written.
    public func setDuckingPreference(_ preference: DuckingPreference) throws(AudioError) {
        try hub.storeDuckingPreference(preference)
    }
}

/// `IAudioSessionEnumerator`: a snapshot of sessions.
public struct AudioSessionEnumerator: Sendable {
    public let sessions: [AudioSessionControl]

    /// `GetCount`.
    public func getCount() -> Int { sessions.count }

    /// `GetSession`.
    /// - Throws: E_INVALIDARG for an index out of range.
    public func getSession(_ index: Int) throws(AudioError) -> AudioSessionControl {
        guard sessions.indices.contains(index) else {
            throw AudioError(.E_INVALIDARG, "session \(index) does not exist; there are \(sessions.count)")
        }
        return sessions[index]
    }
}

extension MMDevice {
    /// `Activate(IID_IAudioSessionManager2)`.
    public func activateSessionManager() -> AudioSessionManager { AudioSessionManager(device: self) }

    /// `Activate(IID_IAudioEndpointVolume)`.
    /// - Throws: AUDCLNT_E_DEVICE_INVALIDATED when the endpoint is not present.
    public func activateEndpointVolume() throws(AudioError) -> AudioEndpointVolume {
        guard let endpoint = descriptor, state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(id) is not present")
        }
        return AudioEndpointVolume(device: self, endpoint: endpoint)
    }

    /// `Activate(IID_IAudioMeterInformation)`: the peak meter of the
    /// endpoint, over this process's streams on it.
    /// - Throws: AUDCLNT_E_DEVICE_INVALIDATED when the endpoint is not present.
    public func activateMeterInformation() throws(AudioError) -> AudioMeterInformation {
        guard let endpoint = descriptor, state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(id) is not present")
        }
        return AudioMeterInformation(hub: SessionHub.shared(for: graph), endpoint: id, instance: nil,
                                     channels: endpoint.channelCount)
    }
}
