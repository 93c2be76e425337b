import AudioGraph
import Glibc
import Realtime
import Synchronization

/// The endpoint model of one ``AudioEngine``: every endpoint ever seen, and
/// the control thread that turns the engine's graph changes into endpoint
/// events (added, present or not, changed, format, shutdown).
///
/// Endpoints are kept once seen: when their ports vanish they stay in the
/// model as not present, and become present again when the ports return.
///
/// One graph per engine (``shared(for:)``), alive while anyone holds it.
///
/// Thread safety: every method may be called from any thread except the
/// engine's. Listeners are called on the graph's control thread, in order,
/// with no lock held, so a listener may call back in.
final class DeviceGraph: @unchecked Sendable {
    /// An endpoint as the model knows it.
    struct Endpoint: Sendable, Hashable {
        var descriptor: EndpointDescriptor
        /// Whether its ports exist in the graph now.
        var isPresent: Bool
    }

    /// What the engine reports to listeners.
    enum Event: Sendable, Equatable {
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

    /// The engine whose graph this is.
    let engine: any AudioEngine
    private let core: Core
    private let thread: ControlThread

    /// The graph of `engine`, made on first use.
    static func shared(for engine: any AudioEngine) -> DeviceGraph {
        graphs.value(for: ObjectIdentifier(engine)) { DeviceGraph(engine: engine) }
    }

    private init(engine: any AudioEngine) {
        self.engine = engine
        let core = Core(engine: engine)
        core.rescan()
        self.core = core
        thread = ControlThread { core.run() }
    }

    deinit {
        core.stop()
        thread.join()
    }

    /// Every endpoint ever seen while the engine ran, present or not.
    /// - Parameter includeVirtual: also other applications' port groups.
    func endpoints(includeVirtual: Bool = false) -> [Endpoint] {
        core.model.withLock { model in model.endpoints.filter { includeVirtual || !$0.descriptor.isVirtual } }
    }

    /// The endpoint with `id`, present or not.
    func endpoint(id: String) -> Endpoint? {
        core.model.withLock { model in model.endpoints.first { $0.descriptor.id == id } }
    }

    /// Rescans the graph on the control thread and returns when the model (and
    /// the events it raised) reflect the graph as it is now: at most
    /// `timeoutMilliseconds` later (false then: a listener is stuck).
    ///
    /// Called from a listener (on the control thread itself), it rescans and
    /// delivers the resulting events right there, since the loop it would
    /// wait for is the one running the listener.
    @discardableResult
    func synchronize(timeoutMilliseconds: Int = 5_000) -> Bool {
        if thread.isCurrent {
            core.rescanAndDispatch()
            return true
        }
        return core.synchronize(timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Registers `listener` for engine events; keep the token to remove it.
    func addListener(_ listener: @escaping @Sendable (Event) -> Void) -> ListenerToken {
        core.listeners.withLock { listeners in
            listeners.nextToken += 1
            listeners.entries.append((listeners.nextToken, listener))
            return ListenerToken(value: listeners.nextToken)
        }
    }

    /// Removes a listener. After this returns it is not called again, unless
    /// the call is made from inside a listener (then from the next event on).
    func removeListener(_ token: ListenerToken) {
        core.listeners.withLock { $0.entries.removeAll { $0.0 == token.value } }
    }

    /// Identifies a listener.
    struct ListenerToken: Sendable, Hashable { let value: Int }

}

extension DeviceGraph {
    /// The state the control thread owns and the methods read.
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

        let engine: any AudioEngine
        let model = Mutex(Model())
        let listeners = Mutex(Listeners())
        private let stopping = Atomic<Bool>(false)
        private let syncRequested = Atomic<UInt64>(0)
        private let syncCompleted = Atomic<UInt64>(0)

        init(engine: any AudioEngine) { self.engine = engine }

        func stop() {
            stopping.store(true, ordering: .releasing)
            engine.changes.event.signal()
        }

        func synchronize(timeoutMilliseconds: Int) -> Bool {
            let ticket = syncRequested.add(1, ordering: .acquiringAndReleasing).newValue
            engine.changes.event.signal()
            var waited = 0
            while syncCompleted.load(ordering: .acquiring) < ticket && !stopping.load(ordering: .acquiring) {
                if waited >= timeoutMilliseconds { return false }
                usleep(1_000)
                waited += 1
            }
            return true
        }

        /// A rescan on the control thread, from inside a listener.
        func rescanAndDispatch() {
            dispatch(engine.isShutDown ? markShutDown() : rescan())
        }

        /// The control thread's loop.
        func run() {
            while !stopping.load(ordering: .acquiring) {
                // A broken event (it cannot fail on a live eventfd) must not
                // turn this loop into a spin: it then polls every 100 ms.
                if case .failed = engine.changes.event.wait(timeoutMilliseconds: 1_000) { usleep(100_000) }
                let sync = syncRequested.load(ordering: .acquiring)
                let changes = engine.changes.take()
                var events: [Event] = []
                if engine.isShutDown {
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
            let found = engine.scanEndpoints()
            let rate = engine.sampleRate, period = engine.bufferSize
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
            case .bufferSize, .sampleRate: .formatChanged(sampleRate: engine.sampleRate, bufferSize: engine.bufferSize)
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

    /// The graphs of the process's engines, by engine.
    private static let graphs = SharedInstances<ObjectIdentifier, DeviceGraph>()
}
