import Glibc
import AudioGraph
import Synchronization

/// The audio sessions of one process on one JACK server, its view of every
/// other process's sessions and of the endpoints' volumes, and the gains it
/// gives its own streams.
///
/// - Own sessions live in ``State/local``; after every change the hub
///   publishes the session's ``SessionRecord`` on the process's JACK client
///   and gives the session's streams their new gains at once.
/// - Every process's records (this one's included, echoed by JACK) live in
///   ``State/observed``; a changed record is diffed against the previous one
///   and the differences become ``AudioSessionEvents`` callbacks, with the
///   context the changer passed, in whichever process registered them.
/// - Another process changes a session by writing a ``SessionRequest`` on
///   the owner's client; the owner validates it, applies it and republishes.
///
/// One hub per engine (``shared(for:)``), kept alive by the objects that use it.
///
/// Thread safety: any thread except JACK's. Engine events arrive on the
/// engine's control thread. Callbacks into the application are collected
/// under the lock and run after it is released, on the thread that caused
/// them (the engine's control thread for everything JACK reports).
final class SessionHub: @unchecked Sendable {
    let graph: DeviceGraph
    var engine: any AudioEngine { graph.engine }
    /// The server's name. It stays when the graph reopens a returned server:
    /// that is the same name (the graph is found by it).
    let serverName: String
    /// This process's JACK client UUID on the graph's current engine: the
    /// subject its sessions are published on (0: unknown, or the engine shut down).
    /// It changes when the server comes back (a new client); records published
    /// on the old client went with the old server.
    var ownUUID: UInt64 {
        let engine = graph.engine
        return ownSubject.withLock { cached in
            // A dead engine is not asked (its client's libjack state may be
            // gone): the subject it had stays, for cleaning up the mirror.
            if cached.engine == ObjectIdentifier(engine) || engine.isShutDown { return cached.uuid }
            cached = (ObjectIdentifier(engine), engine.ownSubject ?? 0)
            return cached.uuid
        }
    }
    private let ownSubject = Mutex<(engine: ObjectIdentifier?, uuid: UInt64)>((nil, 0))
    let executable: String
    let pid: Int32
    let duckingStore: DuckingPreferenceStore
    let mirror: SessionMirror
    /// Writes this process's session records off the hub's lock.
    let publisher = SessionPublisher()
    let state: Mutex<State>
    private var listener: DeviceGraph.ListenerToken?

    /// A stream of a local session.
    struct Member {
        weak var stream: StreamResources?
        var running = false
        var category: AudioStreamCategory
        /// Which gains apply: all (shared streams), the endpoint's only
        /// (exclusive), or none (loopback: it records the mix as it is).
        var gains: MemberGains
    }
    enum MemberGains { case all, endpointOnly, none }

    struct LocalSession {
        var record: SessionRecord
        var members: [ObjectIdentifier: Member] = [:]
        /// A stream has been a member (the session expires when the last
        /// leaves and no session object of it is held).
        var hadMembers = false
        /// Session objects (controls, volumes) of it that exist.
        var holders = 0
        /// The sequence numbers of the last requests applied (each is applied once).
        var appliedRequests: [UInt64] = []
    }

    struct Observed {
        var subject: UInt64
        var key: String
        var record: SessionRecord
    }

    /// A registered callback; `endpoint` and `session` (an instance id) filter it.
    struct Registration<Target: Sendable>: Sendable {
        let endpoint: String?
        let session: String?
        let target: Target
    }

    struct State {
        /// By session key (``SessionMetadata/sessionKey(endpoint:guid:)``).
        var local: [String: LocalSession] = [:]
        /// By "subject key".
        var observed: [String: Observed] = [:]
        /// This process's records published since JACK last echoed them, by
        /// session key: every state they went through raises its events, in
        /// order, even when several changes come before one echo.
        var unechoed: [String: [SessionRecord]] = [:]
        var endpointVolumes: [String: EndpointVolumeRecord] = [:]
        var ducking = DuckingPreference.reduceBy80Percent
        var exclusiveHeld: Set<String> = []
        var sessionEvents: [Registration<any AudioSessionEvents>] = []
        var sessionCreated: [Registration<any AudioSessionNotification>] = []
        var duck: [Registration<any AudioVolumeDuckNotification>] = []
        var endpointCallbacks: [Registration<any AudioEndpointVolumeCallback>] = []
    }

    private init(graph: DeviceGraph) {
        self.graph = graph
        let engine = graph.engine
        serverName = engine.serverName
        executable = Self.executablePath()
        pid = getpid()
        duckingStore = DuckingPreferenceStore(serverName: serverName)
        mirror = SessionMirror(serverName: serverName)
        ProcessExit.install()
        var initial = State()
        initial.ducking = duckingStore.load()
        state = Mutex(initial)
        resynchronize(raisingEvents: false)
        listener = graph.addListener { [weak self] event in self?.handle(event) }
    }

    deinit {
        if let listener { graph.removeListener(listener) }
        let keys = state.withLock { Array($0.local.keys) }
        let owner = ownUUID
        // Metadata is shared state: nothing is written through a client whose
        // server is gone (or that has no subject), and nothing while the
        // process exits (the records of a process that is gone are ignored by
        // every reader, and its client's metadata goes with the client).
        let writes = !graph.engine.isShutDown && owner != 0 && !ProcessExit.isExiting
        for key in keys {
            let request = SessionMetadata.requestPrefix + key.dropFirst(SessionMetadata.sessionPrefix.count)
            if writes {
                removeValue(key, of: owner)
                removeValue(request, of: owner)
            } else {
                mirror.remove(key, of: owner)
                mirror.remove(request, of: owner)
            }
        }
    }

    /// The hub of `graph`'s engine.
    static func shared(for graph: DeviceGraph) -> SessionHub {
        hubs.value(for: ObjectIdentifier(graph)) { SessionHub(graph: graph) }
    }

    private static let hubs = SharedInstances<ObjectIdentifier, SessionHub>()

    /// The last volumes of every session this process had, by server and
    /// session key: a session made again (after every object of it, and the
    /// hub, were released) starts with them.
    static let keptVolumes = Mutex<[String: KeptVolumes]>([:])

    /// Adds a registration.
    func register<Target: Sendable>(_ path: WritableKeyPath<State, [Registration<Target>]> & Sendable,
                                    endpoint: String?, session: String?, target: Target) {
        state.withLock { $0[keyPath: path].append(Registration(endpoint: endpoint, session: session, target: target)) }
    }

    /// Removes the registration of `target`; whether it was registered.
    func unregister<Target: Sendable>(_ path: WritableKeyPath<State, [Registration<Target>]> & Sendable,
                                      matching matches: @Sendable (Target) -> Bool) -> Bool {
        state.withLock { state in
            let before = state[keyPath: path].count
            state[keyPath: path].removeAll { matches($0.target) }
            return state[keyPath: path].count != before
        }
    }

    // MARK: Engine events

    private func handle(_ event: DeviceGraph.Event) {
        switch event {
        case let .propertyChanged(subject, key?):
            if key.hasPrefix(SessionMetadata.sessionPrefix) {
                observeSession(subject: subject, key: key)
            } else if key.hasPrefix(SessionMetadata.requestPrefix) && subject == ownUUID && subject != 0 {
                serveRequest(key: key)
            } else if key == SessionMetadata.endpointVolumeKey {
                observeEndpointVolume(subject: subject)
            } else if key == SessionMetadata.duckingChangedKey {
                reloadDuckingPreference()
            } else if key == ExclusiveLock.changeKey {
                followExclusiveUse()
            }
        case .propertyChanged(_, nil):
            resynchronize(raisingEvents: true)
            followExclusiveUse()
        case .connectionsChanged:
            // A process that went away disconnected its ports: forget its sessions
            // (it cannot unpublish them after a crash), and undo its ducking.
            forgetSessionsOfEndedProcesses()
        case let .endpointPresenceChanged(id, false):
            disconnect(endpoint: id, reason: .deviceRemoval)
        case .serverShutDown:
            disconnect(endpoint: nil, reason: .serverShutdown)
        case .serverReturned:
            // A fresh client on the returned server: reread what its processes publish.
            resynchronize(raisingEvents: true)
        default:
            break
        }
    }

    /// Rereads every session record and endpoint volume on the server.
    private func resynchronize(raisingEvents: Bool) {
        var present = Set(engine.properties(withKeyPrefix: SessionMetadata.sessionPrefix).map { "\($0.subject) \($0.key)" })
        for (subject, value) in mirror.values(withKeyPrefix: SessionMetadata.sessionPrefix) {
            guard let record = SessionMetadata.decode(SessionRecord.self, from: value, key: "mirror") else { continue }
            present.insert("\(subject) \(SessionMetadata.sessionKey(endpoint: record.endpoint, guid: record.guid))")
        }
        let known = state.withLock { Set($0.observed.keys) }
        for id in present.union(known) {
            let parts = id.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let subject = UInt64(parts[0]) else { continue }
            observeSession(subject: subject, key: String(parts[1]), raisingEvents: raisingEvents)
        }
        let volumeSubjects = engine.properties(withKeyPrefix: SessionMetadata.endpointVolumeKey).map(\.subject)
            + mirror.values(withKeyPrefix: SessionMetadata.endpointVolumeKey).map(\.subject)
        for subject in Set(volumeSubjects) { observeEndpointVolume(subject: subject) }
        reloadDuckingPreference()
    }

    func reloadDuckingPreference() {
        let preference = duckingStore.load()
        state.withLock { state in
            guard state.ducking != preference else { return }
            state.ducking = preference
            applyGainsLocked(&state, endpoint: nil)
        }
    }

    /// Raises OnSessionDisconnected for the sessions on `endpoint` (nil:
    /// all); `localOnly`: this process's sessions that hold no exclusive stream.
    func disconnect(endpoint: String?, reason: AudioSessionDisconnectReason, localOnly: Bool = false) {
        let actions = state.withLock { state -> [() -> Void] in
            var instances = Set(state.local.values.filter { session in
                (endpoint == nil || session.record.endpoint == endpoint)
                    && !(localOnly && session.members.values.contains { $0.gains == .endpointOnly })
            }.map(\.record.instance))
            if !localOnly {
                instances.formUnion(state.observed.values.map(\.record).filter { endpoint == nil || $0.endpoint == endpoint }.map(\.instance))
            }
            return state.sessionEvents.filter { instances.contains($0.session ?? "") }.map { registration in
                { registration.target.onSessionDisconnected(reason) }
            }
        }
        actions.forEach { $0() }
    }

    private func forgetSessionsOfEndedProcesses() {
        let ended = state.withLock { state in
            state.observed.values.filter { kill($0.record.pid, 0) != 0 && errno == ESRCH }.map { ($0.subject, $0.key) }
        }
        for (subject, key) in ended { observeSession(subject: subject, key: key) }
    }

    /// Exclusive use taken on an endpoint disconnects this process's sessions there.
    private func followExclusiveUse() {
        let endpoints = state.withLock { Set($0.local.values.map(\.record.endpoint)) }
        let held = Set(endpoints.filter { ExclusiveLock.isHeld(serverName: serverName, endpointID: $0) })
        let newlyHeld = state.withLock { state -> Set<String> in
            defer { state.exclusiveHeld = held }
            return held.subtracting(state.exclusiveHeld)
        }
        for endpoint in newlyHeld { disconnect(endpoint: endpoint, reason: .exclusiveModeOverride, localOnly: true) }
    }

    // MARK: Values

    /// The value of `key` on `subject` as JACK metadata and as mirrored
    /// (``SessionMirror``): zero, one or two untrusted strings.
    func readValues(_ key: String, of subject: UInt64) -> [String] {
        [engine.property(key, of: subject), mirror.read(key, of: subject)].compactMap { $0 }
    }

    /// Writes `value` for `key` on `subject` to the mirror, then as JACK
    /// metadata, whose change notifies every process on the server.
    /// - Returns: whether JACK took it (and so sent the notification).
    @discardableResult
    func writeValue(_ key: String, of subject: UInt64, _ value: String) -> Bool {
        mirror.write(key, of: subject, value: value)
        return engine.setProperty(key, of: subject, to: value, type: "application/json")
    }

    func removeValue(_ key: String, of subject: UInt64) {
        mirror.remove(key, of: subject)
        engine.removeProperty(key, of: subject)
    }

    private static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments.first ?? "unknown" }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
