import FoundationEssentials
import Glibc
import AudioGraph

// Reading what other processes (and this one) published, and turning the
// differences into callbacks. Engine control thread (and the hub's init).
extension SessionHub {
    /// Rereads the session record `key` on `subject` and raises the events
    /// its changes call for. A malformed record is logged and ignored (the
    /// last good one stays); a removed one is forgotten. For this process's
    /// own sessions, every record published since the last echo is taken in
    /// turn instead, so that no state is skipped, and one read back older
    /// than those is a write still on its way, ignored.
    func observeSession(subject: UInt64, key: String, raisingEvents: Bool = true) {
        if subject == ownUUID && subject != 0,
           let chain = state.withLock({ $0.unechoed.removeValue(forKey: key) }), !chain.isEmpty {
            apply(chain, subject: subject, key: key, raisingEvents: raisingEvents)
            return
        }
        let values = readValues(key, of: subject)
        let valid = values.compactMap { SessionMetadata.decode(SessionRecord.self, from: $0, key: key) }.filter { decoded in
            guard decoded.server == serverName else { return false }
            guard SessionMetadata.sessionKey(endpoint: decoded.endpoint, guid: decoded.guid) == key else {
                MetadataLog.ignored(key: key, reason: "the record names another session than its key")
                return false
            }
            return true
        }
        // Nothing valid among values that exist: keep the last good record.
        guard values.isEmpty || !valid.isEmpty else { return }
        var record = valid.max { $0.revision < $1.revision }
        // A record left behind by a process that is gone is no session.
        if let pid = record?.pid, kill(pid, 0) != 0 && errno == ESRCH { record = nil }
        if subject == ownUUID && isOwnWriteInFlight(record, key: key) { return }
        apply([record], subject: subject, key: key, raisingEvents: raisingEvents)
    }

    /// Whether `record`, read back for this process's own session `key`, is
    /// behind what the hub already took from the chain of records it
    /// published: older than it, or not written at all while the session
    /// lives. Such a read is a write still on its way (``SessionPublisher``);
    /// taking it would replay a start after its stop, or a creation.
    private func isOwnWriteInFlight(_ record: SessionRecord?, key: String) -> Bool {
        state.withLock { state in
            guard let taken = state.observed["\(ownUUID) \(key)"]?.record else { return false }
            guard let record else { return state.local[key] != nil }
            return record.instance == taken.instance && record.revision < taken.revision
        }
    }

    /// Takes `records` (nil: removed) in turn as the session's record.
    private func apply(_ records: [SessionRecord?], subject: UInt64, key: String, raisingEvents: Bool) {
        let id = "\(subject) \(key)"
        let actions = state.withLock { state -> [() -> Void] in
            var actions: [() -> Void] = []
            for record in records {
                let old = state.observed[id]?.record
                if let record {
                    state.observed[id] = Observed(subject: subject, key: key, record: record)
                } else {
                    state.observed.removeValue(forKey: id)
                }
                guard old != record else { continue }
                if old?.communications != record?.communications || old?.state != record?.state {
                    applyGainsLocked(&state, endpoint: (record ?? old)?.endpoint)
                }
                guard raisingEvents else { continue }
                actions += sessionEvents(old: old, new: record, state: state)
                    + creationEvents(old: old, new: record, state: state)
                    + duckEvents(old: old, new: record, state: state)
            }
            return actions
        }
        actions.forEach { $0() }
    }

    private func sessionEvents(old: SessionRecord?, new: SessionRecord?, state: State) -> [() -> Void] {
        guard let old, let new else { return [] }
        let targets = state.sessionEvents.filter { $0.session == new.instance }.map(\.target)
        guard !targets.isEmpty else { return [] }
        var actions: [(any AudioSessionEvents) -> Void] = []
        let context = UUID.context(fromRecord: new.context)
        if old.displayName != new.displayName { actions.append { $0.onDisplayNameChanged(new.displayName, context: context) } }
        if old.iconPath != new.iconPath { actions.append { $0.onIconPathChanged(new.iconPath, context: context) } }
        if old.volume != new.volume || old.mute != new.mute {
            actions.append { $0.onSimpleVolumeChanged(volume: new.volume, mute: new.mute, context: context) }
        }
        if old.channels != new.channels {
            let changed = zip(old.channels, new.channels).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            let channel = changed.count == 1 && old.channels.count == new.channels.count ? changed[0] : -1
            actions.append { $0.onChannelVolumeChanged(channelVolumes: new.channels, changedChannel: channel, context: context) }
        }
        if old.grouping != new.grouping { actions.append { $0.onGroupingParamChanged(UUID(registryFormat: new.grouping) ?? .null, context: context) } }
        if old.state != new.state { actions.append { $0.onStateChanged(new.state) } }
        return targets.flatMap { target in actions.map { action in { action(target) } } }
    }

    private func creationEvents(old: SessionRecord?, new: SessionRecord?, state: State) -> [() -> Void] {
        guard old == nil, let new else { return [] }
        return state.sessionCreated.filter { $0.endpoint == new.endpoint }.map { registration in
            { registration.target.onSessionCreated(AudioSessionControl(hub: self, instance: new.instance)) }
        }
    }

    private func duckEvents(old: SessionRecord?, new: SessionRecord?, state: State) -> [() -> Void] {
        let wasDucking = old.map { $0.communications && $0.state == .active } ?? false
        let isDucking = new.map { $0.communications && $0.state == .active } ?? false
        guard wasDucking != isDucking, let record = new ?? old else { return [] }
        let count = communicationSessions(state, endpoint: record.endpoint).count
        let duckable = Set(allRecords(state).filter {
            $0.endpoint == record.endpoint && !$0.communications && !$0.duckingOptOut
        }.map(\.instance))
        return state.duck.filter { registration in
            registration.endpoint == record.endpoint && (registration.session.map(duckable.contains) ?? true)
        }.map { registration in
            isDucking
                ? { registration.target.onVolumeDuckNotification(sessionID: record.instance, countCommunicationSessions: count) }
                : { registration.target.onVolumeUnduckNotification(sessionID: record.instance) }
        }
    }

    /// Every session record known: this process's own (current), then the
    /// other processes' (as last published).
    func allRecords(_ state: State) -> [SessionRecord] {
        let own = state.local.values.map(\.record)
        let ownInstances = Set(own.map(\.instance))
        return own + state.observed.values.map(\.record).filter { !ownInstances.contains($0.instance) }
    }

    /// The active communications sessions on `endpoint`.
    func communicationSessions(_ state: State, endpoint: String) -> [SessionRecord] {
        allRecords(state).filter { $0.endpoint == endpoint && $0.communications && $0.state == .active }
    }

    /// The record of the session with instance identifier `instance`, and
    /// where it is published.
    func lookup(_ instance: String) -> (record: SessionRecord, subject: UInt64, isLocal: Bool)? {
        state.withLock { state in
            if let local = state.local.values.first(where: { $0.record.instance == instance }) {
                return (local.record, ownUUID, true)
            }
            return state.observed.values.first { $0.record.instance == instance }.map { ($0.record, $0.subject, false) }
        }
    }

    /// The session `instance`'s state as last published.
    /// - Throws: AUDCLNT_E_DEVICE_INVALIDATED when the session is gone.
    func record(of instance: String) throws(AudioError) -> SessionRecord {
        guard let found = lookup(instance) else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "session \(instance) is gone")
        }
        return found.record
    }

    /// The sessions on `endpoint` whose owning client is still registered.
    func sessions(onEndpoint endpoint: String) -> [SessionRecord] {
        let candidates = state.withLock { state in
            state.local.values.map { ($0.record, ownUUID) }
                + state.observed.values.filter { $0.subject != ownUUID }.map { ($0.record, $0.subject) }
        }
        var alive: [UInt64: Bool] = [:]
        return candidates.filter { record, subject in
            guard record.endpoint == endpoint else { return false }
            if subject == ownUUID { return true }
            if let known = alive[subject] { return known }
            let isAlive = engine.isClientAlive(subject: subject)
            alive[subject] = isAlive
            return isAlive
        }.map(\.0).sorted { ($0.pid, $0.instance) < ($1.pid, $1.instance) }
    }
}
