import FoundationEssentials
import Glibc
import AudioGraph

// Gains of this process's streams, ducking, and the endpoints' shared
// volumes. Any control thread.
extension SessionHub {
    /// Gives every member stream of this process's sessions on `endpoint`
    /// (nil: all endpoints) its gain per port: session volume x session
    /// channel volume x ducking x endpoint volume x endpoint channel volume,
    /// 0 when the session or the endpoint is muted. The process thread ramps
    /// to it over its next cycle.
    func applyGainsLocked(_ state: inout State, endpoint: String?) {
        for session in state.local.values where endpoint == nil || session.record.endpoint == endpoint {
            let record = session.record
            let volume = state.endpointVolumes[record.endpoint]
            let duck = duckingGain(state, for: record)
            for member in session.members.values {
                guard let stream = member.stream else { continue }
                let gains = (0..<stream.ports.count).map { channel -> Float in
                    var endpointGain: Float = 1
                    if let volume {
                        endpointGain = volume.mute ? 0 : AudioEndpointVolume.gain(dB: volume.masterDB)
                            * (channel < volume.channelDB.count ? AudioEndpointVolume.gain(dB: volume.channelDB[channel]) : 1)
                    }
                    let sessionGain = record.mute ? 0 : record.volume * duck
                        * (channel < record.channels.count ? record.channels[channel] : 1)
                    switch member.gains {
                    case .all: return endpointGain * sessionGain
                    case .endpointOnly: return endpointGain
                    case .none: return 1
                    }
                }
                stream.slot.pointer.pointee.gains.setTargets(gains)
            }
        }
    }

    /// The ducking gain of `record`: the preference's while another
    /// communications session is active on its endpoint, unless the session
    /// opted out or is itself a communications session; else 1.
    func duckingGain(_ state: State, for record: SessionRecord) -> Float {
        guard !record.duckingOptOut, !record.communications else { return 1 }
        let others = communicationSessions(state, endpoint: record.endpoint).filter { $0.instance != record.instance }
        return others.isEmpty ? 1 : state.ducking.gain
    }

    /// Stores the ducking preference for every process on the server.
    /// - Throws: E_ACCESSDENIED when the change cannot be announced to the
    ///   other processes (JACK refused the property): the preference is
    ///   stored and applies in this process, but others learn of it only
    ///   when they next reread it.
    func storeDuckingPreference(_ preference: DuckingPreference) throws(AudioError) {
        try duckingStore.store(preference)
        let announced = ownUUID == 0
            || engine.setProperty(SessionMetadata.duckingChangedKey, of: ownUUID, to: "\(Self.uniqueSequence())")
        reloadDuckingPreference()
        guard announced else {
            throw AudioError(.E_ACCESSDENIED, "the ducking preference was stored, but JACK refused to announce the change to other processes")
        }
    }

    func duckingPreference() -> DuckingPreference { state.withLock { $0.ducking } }

    // MARK: Endpoint volume

    /// The UUID of the endpoint's first port: where its volume is kept.
    func volumeSubject(of endpoint: EndpointDescriptor) -> UInt64? {
        endpoint.ports.first.flatMap(engine.subject(ofPort:))
    }

    /// The endpoint's volume as published now (unity when none or malformed).
    func endpointVolume(_ endpoint: EndpointDescriptor) -> EndpointVolumeRecord {
        guard let subject = volumeSubject(of: endpoint) else { return unityVolume(endpoint) }
        return newestEndpointVolume(readValues(SessionMetadata.endpointVolumeKey, of: subject), for: endpoint)
            ?? unityVolume(endpoint)
    }

    /// The newest valid volume among `values` (nil when none is valid).
    private func newestEndpointVolume(_ values: [String], for endpoint: EndpointDescriptor) -> EndpointVolumeRecord? {
        values.compactMap { decodeEndpointVolume($0, for: endpoint) }.max { $0.sequence < $1.sequence }
    }

    private func unityVolume(_ endpoint: EndpointDescriptor) -> EndpointVolumeRecord {
        EndpointVolumeRecord.unity(server: serverName, channels: min(endpoint.channelCount, SessionMetadata.maximumChannels))
    }

    /// `text` as the volume of `endpoint`, or nil (logged) when malformed.
    private func decodeEndpointVolume(_ text: String, for endpoint: EndpointDescriptor) -> EndpointVolumeRecord? {
        let key = SessionMetadata.endpointVolumeKey
        guard let record = SessionMetadata.decode(EndpointVolumeRecord.self, from: text, key: key),
              record.server == serverName else { return nil }
        guard record.channelDB.count == unityVolume(endpoint).channelDB.count else {
            MetadataLog.ignored(key: key, reason: "\(record.channelDB.count) channel levels for \(endpoint.channelCount) channels")
            return nil
        }
        return record
    }

    /// Changes the endpoint's volume for every process on the server. Each
    /// process applies it to its own streams when JACK reports the change.
    /// - Throws: AUDCLNT_E_DEVICE_INVALIDATED when the endpoint's ports are gone.
    func changeEndpointVolume(_ endpoint: EndpointDescriptor, context: String,
                              _ modify: (inout EndpointVolumeRecord) -> Void) throws(AudioError) {
        guard UUID(registryFormat: context) != nil else {
            throw AudioError(.E_INVALIDARG, "the event context '\(context)' is not a GUID")
        }
        guard let subject = volumeSubject(of: endpoint) else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(endpoint.id) is not present")
        }
        var record = endpointVolume(endpoint)
        modify(&record)
        record.context = context
        record.sequence = Self.uniqueSequence()
        guard writeValue(SessionMetadata.endpointVolumeKey, of: subject, try SessionMetadata.encode(record)) else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "JACK refused the volume of endpoint \(endpoint.id)")
        }
    }

    /// Rereads the endpoint volume kept on port `subject`, applies it to this
    /// process's streams and calls the endpoint's volume callbacks.
    func observeEndpointVolume(subject: UInt64) {
        guard let endpoint = graph.endpoints(includeVirtual: true).map(\.descriptor)
            .first(where: { volumeSubject(of: $0) == subject }) else { return }
        let values = readValues(SessionMetadata.endpointVolumeKey, of: subject)
        let newest = newestEndpointVolume(values, for: endpoint)
        // Malformed values are logged and ignored: the last good one stays.
        guard values.isEmpty || newest != nil else { return }
        let record = newest ?? unityVolume(endpoint)
        let actions = state.withLock { state -> [() -> Void] in
            let old = state.endpointVolumes[endpoint.id]
            state.endpointVolumes[endpoint.id] = record
            guard old != record else { return [] }
            applyGainsLocked(&state, endpoint: endpoint.id)
            let data = AudioVolumeNotificationData(
                eventContext: UUID.context(fromRecord: record.context), muted: record.mute,
                masterVolume: AudioEndpointVolume.scalar(dB: record.masterDB),
                channelVolumes: record.channelDB.map(AudioEndpointVolume.scalar(dB:)))
            return state.endpointCallbacks.filter { $0.endpoint == endpoint.id }.map { registration in
                { registration.target.onNotify(data) }
            }
        }
        actions.forEach { $0() }
    }

    /// Per channel (`channels` values), the highest peak of the last cycle
    /// among this process's streams on `endpoint` (nil: any) in the session
    /// with instance identifier `instance` (nil: any), loopback streams excepted.
    func peaks(endpoint: String?, instance: String?, channels: Int) -> [Float] {
        state.withLock { state in
            var peaks = [Float](repeating: 0, count: channels)
            for session in state.local.values
            where (endpoint == nil || session.record.endpoint == endpoint) && (instance == nil || session.record.instance == instance) {
                for member in session.members.values where member.gains != .none {
                    guard let stream = member.stream else { continue }
                    for channel in 0..<min(channels, stream.ports.count) {
                        peaks[channel] = max(peaks[channel], stream.slot.pointer.pointee.gains.peak(channel: channel))
                    }
                }
            }
            return peaks
        }
    }
}
