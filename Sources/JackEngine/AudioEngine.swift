import Glibc
import Realtime
import Synchronization

/// The audio engine of one process on one JACK server: the JACK client every
/// stream of the process shares, the live endpoint model, and the library's
/// control thread that turns JACK's graph notifications into endpoint events.
///
/// Endpoints are kept once seen: when their ports vanish they stay in the
/// model as not present, and become present again when the ports return.
///
/// Engines are shared: ``shared(serverName:)`` returns the process's engine
/// for that server while anyone holds it, and closes the client when the last
/// holder lets go.
///
/// Thread safety: every method may be called from any thread except JACK's.
/// Listeners are called on the engine's control thread, in order, with no
/// lock held, so a listener may call back into the engine.
public final class AudioEngine: @unchecked Sendable {
    /// An endpoint as the model knows it.
    public struct Endpoint: Sendable, Hashable {
        public var descriptor: EndpointDescriptor
        /// Whether its ports exist in the graph now.
        public var isPresent: Bool
    }

    /// What the engine reports to listeners.
    public enum Event: Sendable, Equatable {
        /// An endpoint never seen before appeared.
        case endpointAdded(id: String)
        /// An endpoint's ports vanished (`isPresent` false) or returned.
        case endpointPresenceChanged(id: String, isPresent: Bool)
        /// An endpoint's name or channel layout changed.
        case endpointChanged(id: String)
        /// A metadata property changed (any subject); `key` nil: all of them.
        case propertyChanged(subject: UInt64, key: String?)
        /// Ports were connected or disconnected somewhere in the graph.
        case connectionsChanged
        /// The server's period or sample rate changed.
        case formatChanged(sampleRate: Int, bufferSize: Int)
        /// The server went away or dropped this client: every stream is invalidated.
        case serverShutDown
    }

    /// The process's JACK client.
    public let client: JackClient
    private let core: Core
    private let thread: ControlThread

    /// The engine of this process for `serverName`, opening it if needed.
    public static func shared(serverName: String?) throws(JackError) -> AudioEngine {
        try Registry.engine(for: serverName)
    }

    private init(serverName: String?) throws(JackError) {
        client = try JackClient(name: AudioEngine.clientName(), serverName: serverName)
        do { try client.activate() } catch {
            client.close()
            throw error
        }
        let core = Core(client: client)
        core.rescan()
        self.core = core
        thread = ControlThread { core.run() }
    }

    deinit {
        core.stop()
        thread.join()
        client.close()
    }

    /// Every endpoint ever seen while the engine ran, present or not.
    /// - Parameter includeVirtual: also other applications' port groups.
    public func endpoints(includeVirtual: Bool = false) -> [Endpoint] {
        core.model.withLock { model in model.endpoints.filter { includeVirtual || !$0.descriptor.isVirtual } }
    }

    /// The endpoint with `id`, present or not.
    public func endpoint(id: String) -> Endpoint? {
        core.model.withLock { model in model.endpoints.first { $0.descriptor.id == id } }
    }

    /// Rescans the graph on the control thread and returns when the model (and
    /// the events it raised) reflect the graph as it is now.
    public func synchronize() { core.synchronize() }

    /// Registers `listener` for engine events; keep the token to remove it.
    public func addListener(_ listener: @escaping @Sendable (Event) -> Void) -> ListenerToken {
        core.listeners.withLock { listeners in
            listeners.nextToken += 1
            listeners.entries.append((listeners.nextToken, listener))
            return ListenerToken(value: listeners.nextToken)
        }
    }

    /// Removes a listener. After this returns it is not called again, unless
    /// the call is made from inside a listener (then from the next event on).
    public func removeListener(_ token: ListenerToken) {
        core.listeners.withLock { $0.entries.removeAll { $0.0 == token.value } }
    }

    /// Identifies a listener.
    public struct ListenerToken: Sendable, Hashable { let value: Int }

    private static func clientName() -> String {
        let program = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "app"
        return String((program.hasPrefix("wasapi") ? program : "wasapi-\(program)").prefix(48))
    }
}

extension AudioEngine {
    /// The state the control thread owns and the public methods read.
    final class Core: @unchecked Sendable {
        struct Model {
            var endpoints: [Endpoint] = []
            var sampleRate = 0
            var bufferSize = 0
            var shutDownReported = false
        }
        struct Listeners {
            var nextToken = 0
            var entries: [(Int, @Sendable (Event) -> Void)] = []
        }

        let client: JackClient
        let model = Mutex(Model())
        let listeners = Mutex(Listeners())
        private let stopping = Atomic<Bool>(false)
        private let syncRequested = Atomic<UInt64>(0)
        private let syncCompleted = Atomic<UInt64>(0)

        init(client: JackClient) { self.client = client }

        func stop() {
            stopping.store(true, ordering: .releasing)
            client.graphChanges.event.signal()
        }

        func synchronize() {
            let ticket = syncRequested.add(1, ordering: .acquiringAndReleasing).newValue
            client.graphChanges.event.signal()
            while syncCompleted.load(ordering: .acquiring) < ticket && !stopping.load(ordering: .acquiring) {
                usleep(1_000)
            }
        }

        /// The control thread's loop.
        func run() {
            while !stopping.load(ordering: .acquiring) {
                _ = client.graphChanges.event.wait(timeoutMilliseconds: 1_000)
                let sync = syncRequested.load(ordering: .acquiring)
                let changes = client.graphChanges.take()
                var events: [Event] = []
                if client.isShutDown {
                    events += markShutDown()
                } else {
                    let graphMoved = changes.contains { change in
                        switch change {
                        case .port, .client, .portRenamed: true
                        case let .property(subject, _, _): subject != 0
                        default: false
                        }
                    }
                    if graphMoved || sync > syncCompleted.load(ordering: .relaxed) { events += rescan() }
                    events += changes.compactMap(passThrough)
                }
                dispatch(events)
                syncCompleted.store(sync, ordering: .releasing)
            }
        }

        /// Scans the graph and diffs the endpoints against the model.
        @discardableResult
        func rescan() -> [Event] {
            let ports = client.scanPorts()
            let found = EndpointDiscovery.discover(ports: ports, includeVirtual: true,
                                                   excludingClients: [client.name])
            let rate = client.sampleRate, period = client.bufferSize
            return model.withLock { model in
                var events: [Event] = []
                if model.sampleRate != 0 && (model.sampleRate != rate || model.bufferSize != period) {
                    events.append(.formatChanged(sampleRate: rate, bufferSize: period))
                }
                model.sampleRate = rate
                model.bufferSize = period
                let foundByID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                for index in model.endpoints.indices {
                    let known = model.endpoints[index]
                    let id = known.descriptor.id
                    if let now = foundByID[id] {
                        if !known.isPresent {
                            model.endpoints[index] = Endpoint(descriptor: now, isPresent: true)
                            events.append(.endpointPresenceChanged(id: id, isPresent: true))
                        } else if now != known.descriptor {
                            model.endpoints[index].descriptor = now
                            events.append(.endpointChanged(id: id))
                        }
                    } else if known.isPresent {
                        model.endpoints[index].isPresent = false
                        events.append(.endpointPresenceChanged(id: id, isPresent: false))
                    }
                }
                let knownIDs = Set(model.endpoints.map(\.descriptor.id))
                for descriptor in found where !knownIDs.contains(descriptor.id) {
                    model.endpoints.append(Endpoint(descriptor: descriptor, isPresent: true))
                    events.append(.endpointAdded(id: descriptor.id))
                }
                return events
            }
        }

        private func markShutDown() -> [Event] {
            model.withLock { model -> [Event] in
                guard !model.shutDownReported else { return [] }
                model.shutDownReported = true
                var events: [Event] = [.serverShutDown]
                for index in model.endpoints.indices where model.endpoints[index].isPresent {
                    model.endpoints[index].isPresent = false
                    events.append(.endpointPresenceChanged(id: model.endpoints[index].descriptor.id, isPresent: false))
                }
                return events
            }
        }

        private func passThrough(_ change: GraphChange) -> Event? {
            switch change {
            case let .property(subject, key, _): .propertyChanged(subject: subject, key: key)
            case .connection: .connectionsChanged
            case .bufferSize, .sampleRate: .formatChanged(sampleRate: client.sampleRate, bufferSize: client.bufferSize)
            default: nil
            }
        }

        private func dispatch(_ events: [Event]) {
            for event in events {
                let current = listeners.withLock { $0.entries.map(\.1) }
                for listener in current { listener(event) }
            }
        }
    }

    /// The process's engines by server name, held weakly.
    enum Registry {
        private struct WeakEngine: @unchecked Sendable { weak var engine: AudioEngine? }
        private static let engines = Mutex<[String: WeakEngine]>([:])

        static func engine(for serverName: String?) throws(JackError) -> AudioEngine {
            let key = serverName ?? ""
            let result = engines.withLock { engines -> Result<AudioEngine, JackError> in
                // An engine whose server went away stays with its holders (their
                // streams report DEVICE_INVALIDATED); newcomers get a fresh one.
                if let engine = engines[key]?.engine, !engine.client.isShutDown { return .success(engine) }
                do throws(JackError) {
                    let engine = try AudioEngine(serverName: serverName)
                    engines[key] = WeakEngine(engine: engine)
                    return .success(engine)
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
    }
}
