import FoundationEssentials
import Glibc
import AudioGraph
import Synchronization

/// Keeps a local session from expiring while a session object (control,
/// simple or channel volume) of it exists: made with the object, released with it.
final class SessionHold: Sendable {
    let hub: SessionHub
    let instance: String

    init(hub: SessionHub, instance: String) {
        self.hub = hub
        self.instance = instance
        hub.hold(instance, 1)
    }

    deinit { hub.hold(instance, -1) }
}

/// The volumes of a session of this process, kept after the session object
/// itself is gone (Windows keeps a session's volume for the process's life).
struct KeptVolumes: Sendable {
    var volume: Float
    var mute: Bool
    var channels: [Float]
}

/// A stream's place in its session; the stream leaves the session when
/// this goes away (with its audio client).
final class SessionMembership: Sendable {
    let hub: SessionHub
    let sessionKey: String
    let member: ObjectIdentifier
    let instance: String

    init(hub: SessionHub, sessionKey: String, member: ObjectIdentifier, instance: String) {
        self.hub = hub
        self.sessionKey = sessionKey
        self.member = member
        self.instance = instance
    }

    deinit { hub.detach(self) }
}

// This process's own sessions: membership of streams, state, changes and
// requests from other processes, publication. Any control thread.
extension SessionHub {
    /// Creates (or finds) this process's session `guid` on `endpoint`.
    /// - Returns: the session key.
    @discardableResult
    func ensureSession(endpoint: EndpointDescriptor, guid: String) -> String {
        let key = SessionMetadata.sessionKey(endpoint: endpoint.id, guid: guid)
        state.withLock { state in
            guard state.local[key] == nil else { return }
            let identifier = "\(endpoint.id)|\(executable)%b\(guid)"
            var record = SessionRecord(
                server: serverName, endpoint: endpoint.id, guid: guid, identifier: identifier,
                instance: "\(identifier)|1%b\(pid)", pid: pid, state: .inactive,
                channels: [Float](repeating: 1, count: min(max(endpoint.channelCount, 1), SessionMetadata.maximumChannels)))
            // Windows' default grouping parameter is a fresh GUID, not GUID_NULL.
            record.grouping = UUID().registryFormat
            // A session made again in this process keeps the volumes it had.
            if let kept = SessionHub.keptVolumes.withLock({ $0[serverName + "|" + key] }),
               kept.channels.count == record.channels.count {
                (record.volume, record.mute, record.channels) = (kept.volume, kept.mute, kept.channels)
            }
            state.local[key] = LocalSession(record: record)
            // No caller to tell: a new record (finite unit volumes) always
            // encodes, and a refused write is retried by the next publication.
            try? publishLocked(&state, key: key)
        }
        return key
    }

    /// Adds `stream` to this process's session `guid` on its endpoint.
    func attach(_ stream: StreamResources, guid: String, category: AudioStreamCategory,
                gains: MemberGains) -> SessionMembership {
        let key = ensureSession(endpoint: stream.endpoint, guid: guid)
        let member = ObjectIdentifier(stream)
        let instance = state.withLock { state -> String in
            state.local[key]?.members[member] = Member(stream: stream, category: category, gains: gains)
            state.local[key]?.hadMembers = true
            updateLocked(&state, key: key, context: nil)
            applyGainsLocked(&state, endpoint: stream.endpoint.id)
            return state.local[key]?.record.instance ?? ""
        }
        return SessionMembership(hub: self, sessionKey: key, member: member, instance: instance)
    }

    /// Start (`true`) or Stop of a member stream.
    func setRunning(_ membership: SessionMembership, _ running: Bool) {
        state.withLock { state in
            state.local[membership.sessionKey]?.members[membership.member]?.running = running
            updateLocked(&state, key: membership.sessionKey, context: nil)
        }
    }

    /// A session object (control or volume) of `instance` now exists (`delta`
    /// 1) or was released (-1): a local session with one expires only when
    /// no object of it is left, as on Windows.
    func hold(_ instance: String, _ delta: Int) {
        state.withLock { state in
            guard let key = state.local.first(where: { $0.value.record.instance == instance })?.key else { return }
            state.local[key]!.holders += delta
            updateLocked(&state, key: key, context: nil)
        }
    }

    /// A member stream was released.
    func detach(_ membership: SessionMembership) {
        state.withLock { state in
            state.local[membership.sessionKey]?.members.removeValue(forKey: membership.member)
            updateLocked(&state, key: membership.sessionKey, context: nil)
        }
    }

    /// Recomputes a session's state and communications flag from its
    /// members; publishes and regains when something changed (or `context`
    /// says a change was made).
    private func updateLocked(_ state: inout State, key: String, context: String?) {
        guard var session = state.local[key] else { return }
        let before = session.record
        let members = session.members.values
        if members.contains(where: \.running) {
            session.record.state = .active
        } else {
            session.record.state = members.isEmpty && session.hadMembers && session.holders == 0 ? .expired : .inactive
        }
        session.record.communications = members.contains { $0.running && $0.category == .communications }
        session.record.systemSounds = !members.isEmpty && members.allSatisfy { $0.category == .alerts }
        if let context { session.record.context = context }
        state.local[key] = session
        guard session.record != before || context != nil else { return }
        // Stream state changes (start, stop, attach) have no error to report;
        // the next change publishes the record again.
        try? publishLocked(&state, key: key)
        if session.record.communications != before.communications || session.record.state != before.state {
            applyGainsLocked(&state, endpoint: session.record.endpoint)
        }
    }

    /// Publishes the session's record on this process's client (the
    /// revision counts up): written by the ``SessionPublisher`` after the
    /// hub's lock is released. A record that cannot be encoded is not
    /// published at all.
    /// - Throws: E_UNEXPECTED when the record cannot be encoded;
    ///   AUDCLNT_E_DEVICE_INVALIDATED when the server went away or dropped
    ///   this client.
    func publishLocked(_ state: inout State, key: String) throws(AudioError) {
        guard ownUUID != 0, var record = state.local[key]?.record else { return }
        SessionHub.keptVolumes.withLock {
            $0[serverName + "|" + key] = KeptVolumes(volume: record.volume, mute: record.mute, channels: record.channels)
        }
        record.revision += 1
        let text = try SessionMetadata.encode(record)
        state.local[key]!.record = record
        state.unechoed[key, default: []].append(record)
        state.unechoed[key] = state.unechoed[key]!.suffix(64)
        guard !engine.isShutDown else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                             "JACK server '\(serverName)' went away: session \(record.instance) cannot be published")
        }
        publisher.publish(key, text: text, for: self)
    }

    /// Changes this process's session `instance` with `modify` (which may
    /// throw to reject the change), then publishes it and applies its gains.
    /// - Throws: E_ACCESSDENIED for another process's session;
    ///   AUDCLNT_E_DEVICE_INVALIDATED when the session is gone.
    func changeLocal(_ instance: String, context: String,
                     _ modify: (inout SessionRecord) throws(AudioError) -> Void) throws(AudioError) {
        try state.withLock { state throws(AudioError) in
            guard let key = state.local.first(where: { $0.value.record.instance == instance })?.key else {
                if state.observed.values.contains(where: { $0.record.instance == instance }) {
                    throw AudioError(.E_ACCESSDENIED, "only the process that owns session \(instance) can change this")
                }
                throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "session \(instance) is gone")
            }
            let before = state.local[key]!.record
            try modify(&state.local[key]!.record)
            state.local[key]!.record.context = context
            do throws(AudioError) {
                try publishLocked(&state, key: key)
            } catch {
                // The change did not reach the server: leave the session as it was.
                state.local[key]!.record = before
                throw error
            }
            applyGainsLocked(&state, endpoint: state.local[key]!.record.endpoint)
        }
    }

    /// Sets volume, mute or channel volumes of any session on the server:
    /// applied here for this process's own, else written as a request the
    /// owner applies within a period of noticing it.
    /// - Throws: E_INVALIDARG for levels outside 0...1 or the wrong channel
    ///   count; AUDCLNT_E_DEVICE_INVALIDATED when the session is gone.
    func requestChange(_ instance: String, volume: Float? = nil, mute: Bool? = nil, channels: [Float]? = nil,
                       context: String) throws(AudioError) {
        guard volume.map(SessionMetadata.isVolume) ?? true, channels?.allSatisfy(SessionMetadata.isVolume) ?? true else {
            throw AudioError(.E_INVALIDARG, "volume levels must be between 0.0 and 1.0")
        }
        guard UUID(registryFormat: context) != nil else {
            throw AudioError(.E_INVALIDARG, "the event context '\(context)' is not a GUID")
        }
        guard let (record, subject, isLocal) = lookup(instance) else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "no session \(instance) on JACK server '\(serverName)'")
        }
        if let channels, channels.count != record.channels.count {
            throw AudioError(.E_INVALIDARG, "\(channels.count) levels for \(record.channels.count) channels")
        }
        if isLocal {
            try changeLocal(instance, context: context) { record throws(AudioError) in
                if let volume { record.volume = volume }
                if let mute { record.mute = mute }
                if let channels { record.channels = channels }
            }
            return
        }
        let request = SessionRequest(sequence: Self.uniqueSequence(), volume: volume, mute: mute,
                                     channels: channels, context: context)
        let key = SessionMetadata.requestKey(endpoint: record.endpoint, guid: record.guid)
        guard writeValue(key, of: subject, try SessionMetadata.encode(request)) else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "JACK refused the change request for session \(instance)")
        }
    }

    /// Applies the requests another process wrote on this process's client
    /// (as metadata and as mirrored) that were not applied yet, oldest first.
    /// The last 32 sequence numbers are remembered, so that no value, however
    /// large its number, can block the requests that follow it.
    func serveRequest(key: String) {
        let requests = readValues(key, of: ownUUID)
            .compactMap { SessionMetadata.decode(SessionRequest.self, from: $0, key: key) }
            .sorted { $0.sequence < $1.sequence }
        guard !requests.isEmpty else { return }
        let sessionKey = SessionMetadata.sessionPrefix + key.dropFirst(SessionMetadata.requestPrefix.count)
        state.withLock { state in
            guard var session = state.local[sessionKey] else {
                MetadataLog.ignored(key: key, reason: "no such session in this process")
                return
            }
            var changed = false
            for request in requests where !session.appliedRequests.contains(request.sequence) {
                session.appliedRequests = Array((session.appliedRequests + [request.sequence]).suffix(32))
                if let channels = request.channels, channels.count != session.record.channels.count {
                    MetadataLog.ignored(key: key, reason: "\(channels.count) channel volumes for \(session.record.channels.count) channels")
                    continue
                }
                if let volume = request.volume { session.record.volume = volume }
                if let mute = request.mute { session.record.mute = mute }
                if let channels = request.channels { session.record.channels = channels }
                session.record.context = request.context
                changed = true
            }
            state.local[sessionKey] = session
            guard changed else { return }
            applyGainsLocked(&state, endpoint: session.record.endpoint)
            // Another process's request, served on the control thread: no
            // caller to report to; the next change publishes the record again.
            try? publishLocked(&state, key: sessionKey)
        }
    }

    /// Wall-clock nanoseconds: orders requests and endpoint volumes written
    /// by different processes (the newest wins).
    static func uniqueSequence() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
