import AudioGraph
import FoundationEssentials
internal import JackEngine
import PCM
import Synchronization

/// `IMMDeviceEnumerator`: the endpoints of a JACK server.
///
/// Physical port groups are the endpoints; with `includeVirtualEndpoints`,
/// other applications' port groups are offered too, as virtual endpoints
/// (the way a virtual audio cable appears on Windows).
///
/// Thread safety: every method may be called from any thread except JACK's,
/// including from inside an ``MMNotificationClient`` callback.
public final class MMDeviceEnumerator: @unchecked Sendable {
    /// The endpoint model of the engine.
    let graph: DeviceGraph
    /// The engine: this process's client of the server.
    var engine: any AudioEngine { graph.engine }
    /// Whether other applications' port groups are listed as endpoints.
    public let includesVirtualEndpoints: Bool
    private let defaults: DefaultEndpointStore
    private let state = Mutex(State())
    private var graphListener: DeviceGraph.ListenerToken?

    private struct State {
        var clients: [ObjectIdentifier: any MMNotificationClient] = [:]
        /// How many times each client is registered.
        var registrations: [ObjectIdentifier: Int] = [:]
        /// The defaults last reported, to notice changes.
        var effectiveDefaults: [DefaultEndpointStore.Choice: String] = [:]
    }

    /// Connects to `serverName` (nil: `$JACK_DEFAULT_SERVER` or JACK's default).
    /// Never starts a server.
    ///
    /// Enumerators of one server in a process share one endpoint model. When
    /// the server goes away and comes back under the same name, the
    /// enumerator reconnects by itself (within ``DeviceGraph/reopenInterval``
    /// ms): its notification clients see the endpoints return
    /// (`OnDeviceStateChanged` ACTIVE), as after a restart of Windows' audio
    /// service, and its endpoints activate on the new server. Streams
    /// initialised before stay invalidated.
    /// - Throws: `AUDCLNT_E_SERVICE_NOT_RUNNING` when no server answers, with
    ///   the server name tried and how to start one.
    public convenience init(serverName: String? = nil, includeVirtualEndpoints: Bool = false) throws(AudioError) {
        let graph: DeviceGraph?
        do {
            graph = try DeviceGraph.shared(key: serverName ?? "", open: { () throws(EngineError) in
                try JackAudioEngine.shared(serverName: serverName)
            }, reopen: Self.jackReopen(serverName: serverName))
        } catch {
            throw AudioError(error)
        }
        guard let graph else {
            // The process's model of that server has a dead engine and the
            // server does not answer (no open is tried: see JackAudioEngine.serverAnswers).
            throw AudioError(.AUDCLNT_E_SERVICE_NOT_RUNNING,
                             "JACK server '\(serverName ?? "default")' went away and is not back; "
                             + "start it again under the same name (this enumerator reconnects by itself)")
        }
        self.init(graph: graph, includeVirtualEndpoints: includeVirtualEndpoints)
    }

    /// The endpoints of `engine`: a JACK server's, or a simulated graph's
    /// (module `SimulatedEngine`) for tests that step cycles by hand.
    public convenience init(engine: any AudioEngine, includeVirtualEndpoints: Bool = false) {
        if let jack = engine as? JackAudioEngine,
           let graph = DeviceGraph.shared(key: jack.sharingKey, open: { jack },
                                          reopen: Self.jackReopen(serverName: jack.sharingKey.isEmpty ? nil : jack.sharingKey)) {
            self.init(graph: graph, includeVirtualEndpoints: includeVirtualEndpoints)
        } else {
            self.init(graph: DeviceGraph.shared(for: engine), includeVirtualEndpoints: includeVirtualEndpoints)
        }
    }

    private init(graph: DeviceGraph, includeVirtualEndpoints: Bool) {
        self.graph = graph
        includesVirtualEndpoints = includeVirtualEndpoints
        defaults = DefaultEndpointStore(serverName: graph.engine.serverName)
        let initial = computeDefaults()
        state.withLock { $0.effectiveDefaults = initial }
        graphListener = graph.addListener { [weak self] event in self?.handle(event) }
    }

    private static func jackReopen(serverName: String?) -> DeviceGraph.Reopen {
        {
            guard JackAudioEngine.serverAnswers(serverName: serverName) else { return nil }
            return try? JackAudioEngine.shared(serverName: serverName)
        }
    }

    deinit {
        if let graphListener { graph.removeListener(graphListener) }
    }

    // MARK: The server

    /// The server's name after defaults (`--server`, `$JACK_DEFAULT_SERVER` or "default").
    public var serverName: String { engine.serverName }
    /// What implements the graph, with its version ("jackd2 1.9.21", "pipewire-jack 0.3.65").
    public var engineImplementation: String { engine.implementation }
    /// The engine's sample rate in Hz: every endpoint's mix-format rate.
    public var sampleRate: Int { engine.sampleRate }
    /// The engine's period in frames (the device period of every endpoint).
    public var periodFrames: Int { engine.bufferSize }
    /// Late cycles (xruns) the server reported since this process connected.
    public var xrunCount: UInt64 { engine.xrunCount }

    // MARK: IMMDeviceEnumerator

    /// `EnumAudioEndpoints`: the endpoints of `flow` whose state is in `stateMask`.
    /// - Throws: `E_INVALIDARG` for an empty or unknown state mask.
    public func enumAudioEndpoints(_ flow: DataFlow, stateMask: DeviceState) throws(AudioError) -> [MMDevice] {
        guard !stateMask.isEmpty, DeviceState.all.isSuperset(of: stateMask) else {
            throw AudioError(.E_INVALIDARG, "state mask 0x\(String(stateMask.rawValue, radix: 16)) is not a combination of DEVICE_STATE_* bits")
        }
        return graph.endpoints(includeVirtual: includesVirtualEndpoints)
            .filter { flow.includes($0.descriptor.flow) && stateMask.contains($0.isPresent ? .active : .notPresent) }
            .map { MMDevice(graph: graph, endpoint: $0) }
    }

    /// `GetDefaultAudioEndpoint`.
    /// - Throws: `E_INVALIDARG` for `.all`; `E_NOTFOUND` when the flow has no
    ///   present endpoint.
    public func getDefaultAudioEndpoint(_ flow: DataFlow, role: Role) throws(AudioError) -> MMDevice {
        guard flow != .all else {
            throw AudioError(.E_INVALIDARG, "a default endpoint exists per data flow; eAll has none")
        }
        guard let id = computeDefaults()[.init(flow: flow, role: role)], let endpoint = graph.endpoint(id: id) else {
            throw AudioError(.E_NOTFOUND, "no \(flow) endpoint is present on JACK server '\(engine.serverName)'")
        }
        return MMDevice(graph: graph, endpoint: endpoint)
    }

    /// `GetDevice`: the endpoint with `id`, present or not.
    /// - Throws: `E_INVALIDARG` for a string that is not an endpoint id
    ///   (`{0.0.F.NNNNNNNN}.{GUID}`), `E_NOTFOUND` for a well-formed unknown
    ///   id, as on Windows.
    public func getDevice(id: String) throws(AudioError) -> MMDevice {
        guard Self.isWellFormedEndpointID(id) else {
            throw AudioError(.E_INVALIDARG, "'\(id)' is not an endpoint id ({0.0.F.NNNNNNNN}.{GUID})")
        }
        guard let endpoint = graph.endpoint(id: id),
              includesVirtualEndpoints || !endpoint.descriptor.isVirtual else {
            throw AudioError(.E_NOTFOUND, "no endpoint with id \(id) on JACK server '\(engine.serverName)'")
        }
        return MMDevice(graph: graph, endpoint: endpoint)
    }

    /// Makes `id` the default for `role` in its data flow, for every process
    /// on the server (Windows does this through the policy configuration
    /// interface). Every enumerator on the server reports the change through
    /// `onDefaultDeviceChanged`.
    /// - Throws: `E_NOTFOUND` for an unknown id; `E_ACCESSDENIED` when the
    ///   setting cannot be written.
    public func setDefaultAudioEndpoint(id: String, role: Role) throws(AudioError) {
        let device = try getDevice(id: id)
        try defaults.store(id, flow: device.dataFlow, role: role)
        // Tell every engine on the server, this one included, to reread.
        if let subject = engine.ownSubject {
            guard engine.setProperty(DefaultEndpointStore.changeKey, of: subject,
                                     to: "\(id) \(role.name) \(engine.nowNanoseconds)") else {
                throw AudioError(.E_ACCESSDENIED, "the default was stored, but JACK refused to announce the change")
            }
        }
    }

    /// `RegisterEndpointNotificationCallback`. The enumerator keeps `client`
    /// until it is unregistered. Registering it again succeeds and counts
    /// (it is called once per event, and needs as many Unregister calls), as on Windows.
    public func registerEndpointNotificationCallback(_ client: any MMNotificationClient) {
        state.withLock { state in
            state.clients[ObjectIdentifier(client)] = client
            state.registrations[ObjectIdentifier(client), default: 0] += 1
        }
    }

    /// `UnregisterEndpointNotificationCallback`: undoes one registration.
    /// - Throws: `E_NOTFOUND` if it is not registered (any more).
    public func unregisterEndpointNotificationCallback(_ client: any MMNotificationClient) throws(AudioError) {
        let key = ObjectIdentifier(client)
        let removed = state.withLock { state in
            guard let count = state.registrations[key] else { return false }
            if count > 1 {
                state.registrations[key] = count - 1
            } else {
                state.registrations[key] = nil
                state.clients[key] = nil
            }
            return true
        }
        guard removed else { throw AudioError(.E_NOTFOUND, "this notification client is not registered") }
    }

    /// Whether `id` has the shape of an endpoint id: `{0.0.F.NNNNNNNN}.{GUID}`.
    static func isWellFormedEndpointID(_ id: String) -> Bool {
        let parts = id.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "{0", parts[1] == "0", parts[2] == "0" || parts[2] == "1",
              parts[3].count == 9, parts[3].hasSuffix("}"), parts[3].dropLast().allSatisfy(\.isHexDigit) else { return false }
        let guid = parts[4]
        guard guid.count == 38, guid.first == "{", guid.last == "}" else { return false }
        return UUID(uuidString: String(guid.dropFirst().dropLast())) != nil
    }

    /// Waits until the endpoint model reflects the graph as it is now and every
    /// notification that follows from it was delivered. May be called from an
    /// ``MMNotificationClient`` callback (it rescans there and then).
    /// - Returns: false if that did not happen within 5 s (a notification
    ///   client is blocking the notification thread).
    @discardableResult
    public func synchronize() -> Bool { graph.synchronize() }

    // MARK: Events

    private func handle(_ event: DeviceGraph.Event) {
        let clients = state.withLock { Array($0.clients.values) }
        switch event {
        case let .endpointAdded(id):
            guard isListed(id) else { break }
            clients.forEach { $0.onDeviceAdded(deviceID: id) }
        case let .endpointPresenceChanged(id, isPresent):
            guard isListed(id) else { break }
            clients.forEach { $0.onDeviceStateChanged(deviceID: id, newState: isPresent ? .active : .notPresent) }
        case let .endpointChanged(id):
            guard isListed(id) else { break }
            for client in clients {
                client.onPropertyValueChanged(deviceID: id, key: .deviceFriendlyName)
                client.onPropertyValueChanged(deviceID: id, key: .audioEngineDeviceFormat)
            }
        case .formatChanged:
            for endpoint in graph.endpoints(includeVirtual: includesVirtualEndpoints) where endpoint.isPresent {
                clients.forEach { $0.onPropertyValueChanged(deviceID: endpoint.descriptor.id, key: .audioEngineDeviceFormat) }
            }
        case .propertyChanged, .connectionsChanged, .serverShutDown, .serverReturned:
            break
        }
        reportDefaultChanges(to: clients)
    }

    private func isListed(_ id: String) -> Bool {
        includesVirtualEndpoints || graph.endpoint(id: id)?.descriptor.isVirtual == false
    }

    private func reportDefaultChanges(to clients: [any MMNotificationClient]) {
        let now = computeDefaults()
        let changed = state.withLock { state -> [DefaultEndpointStore.Choice] in
            defer { state.effectiveDefaults = now }
            return Self.allChoices.filter { state.effectiveDefaults[$0] != now[$0] }
        }
        for choice in changed {
            clients.forEach { $0.onDefaultDeviceChanged(flow: choice.flow, role: choice.role, deviceID: now[choice]) }
        }
    }

    private static let allChoices = [DataFlow.render, .capture].flatMap { flow in
        Role.allCases.map { DefaultEndpointStore.Choice(flow: flow, role: $0) }
    }

    /// The default per flow and role: the stored choice when that endpoint is
    /// present, else the first present physical endpoint of the flow.
    private func computeDefaults() -> [DefaultEndpointStore.Choice: String] {
        let stored = defaults.load()
        let endpoints = graph.endpoints(includeVirtual: true)
        var result: [DefaultEndpointStore.Choice: String] = [:]
        for choice in Self.allChoices {
            let present = endpoints.filter { $0.isPresent && DataFlow($0.descriptor.flow) == choice.flow }
            if let id = stored[choice], present.contains(where: { $0.descriptor.id == id }) {
                result[choice] = id
            } else if let first = present.first(where: { !$0.descriptor.isVirtual }) {
                result[choice] = first.descriptor.id
            }
        }
        return result
    }
}
