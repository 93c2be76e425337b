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
/// One graph per engine (``shared(for:)``), or per JACK server name
/// (``shared(key:open:reopen:)``), alive while anyone holds it.
///
/// After the engine shut down (the server went away), a graph given a
/// `reopen` closure asks it for a fresh engine every ``reopenInterval``
/// milliseconds on its control thread; when one comes it becomes ``engine``,
/// the graph is rescanned and the endpoints that came back are reported
/// present again, as after a restart of Windows' audio service. Streams
/// made before keep their old engine and stay invalidated.
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
        /// A fresh engine replaced the one that shut down (the server is
        /// back); the presence events of the rescan follow.
        case serverReturned
    }

    /// Asked for a fresh engine after a shutdown; nil: not (yet) possible.
    typealias Reopen = @Sendable () -> (any AudioEngine)?

    /// How often a shut-down graph asks `reopen` for a fresh engine, in ms.
    static let reopenInterval = 300

    /// The engine whose graph this is now: the current one, which changes
    /// when a shut-down engine is replaced. Objects that own engine
    /// resources (streams, audio clients) keep the engine they started with.
    var engine: any AudioEngine { core.engine }
    private let core: Core
    private let thread: ControlThread

    /// The graph of `engine`, made on first use (by the engine's identity);
    /// it is never reopened.
    static func shared(for engine: any AudioEngine) -> DeviceGraph {
        // The identity check: a key of an engine that was replaced and freed may name a new object.
        graphs.value(for: .engine(ObjectIdentifier(engine)), reuse: { $0.engine === engine }) {
            DeviceGraph(engine: engine, reopen: nil)
        }
    }

    /// The graph for `key` (a JACK server name), made with `open` on first
    /// use. A graph whose engine shut down is reopened on the spot (and
    /// rescanned) when `reopen` gives a fresh engine.
    /// - Returns: nil when the graph's engine is shut down and cannot be reopened yet.
    static func shared<Failure: Error>(key: String, open: () throws(Failure) -> any AudioEngine,
                                       reopen: @escaping Reopen) throws(Failure) -> DeviceGraph? {
        let graph = try graphs.value(for: .named(key)) { () throws(Failure) in
            DeviceGraph(engine: try open(), reopen: reopen)
        }
        if graph.engine.isShutDown {
            guard graph.core.reopenNow() else { return nil }
            graph.synchronize()
        }
        return graph
    }

    private init(engine: any AudioEngine, reopen: Reopen?) {
        let core = Core(engine: engine, reopen: reopen)
        core.rescan()
        self.core = core
        thread = ControlThread { core.run() }
        core.onReopen.withLock { $0 = { [weak self] fresh in
            guard let self else { return }
            // A lookup by the fresh engine (MMDeviceEnumerator(engine:)) finds this graph.
            Self.graphs.insertIfAbsent(self, for: .engine(ObjectIdentifier(fresh)))
        } }
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

        private struct Current {
            var engine: any AudioEngine
            var generation = 0
        }
        private let current: Mutex<Current>
        private let reopen: Reopen?
        /// Serialises reopening (control thread and ``DeviceGraph/shared(key:open:reopen:)``).
        private let reopening = Mutex<Void>(())
        /// Called after a fresh engine took over (set once, before the thread runs anything that reopens).
        let onReopen = Mutex<(@Sendable (any AudioEngine) -> Void)?>(nil)
        var engine: any AudioEngine { current.withLock { $0.engine } }
        let model = Mutex(Model())
        let listeners = Mutex(Listeners())
        private let stopping = Atomic<Bool>(false)
        private let syncRequested = Atomic<UInt64>(0)
        private let syncCompleted = Atomic<UInt64>(0)

        init(engine: any AudioEngine, reopen: Reopen?) {
            current = Mutex(Current(engine: engine))
            self.reopen = reopen
        }

        /// Replaces a shut-down engine with a fresh one from `reopen`; the
        /// control thread then rescans and reports. Whether the engine is
        /// live now.
        func reopenNow() -> Bool {
            reopening.withLock { _ -> Bool in
                let old = engine
                guard old.isShutDown else { return true }
                guard let reopen, let fresh = reopen(), fresh !== old, !fresh.isShutDown else { return false }
                current.withLock { current in
                    current.engine = fresh
                    current.generation += 1
                }
                onReopen.withLock { $0 }?(fresh)
                // Wake the control thread (it may be waiting on the old engine: it wakes within its timeout).
                fresh.changes.event.signal()
                old.changes.event.signal()
                return true
            }
        }

        func stop() {
            stopping.store(true, ordering: .releasing)
            engine.changes.event.signal()
        }

        func synchronize(timeoutMilliseconds: Int) -> Bool {
            let ticket = syncRequested.add(1, ordering: .acquiringAndReleasing).newValue
            engine.changes.event.signal()
            let deadline = MonotonicDeadline(millisecondsFromNow: timeoutMilliseconds)
            while syncCompleted.load(ordering: .acquiring) < ticket && !stopping.load(ordering: .acquiring) {
                if deadline.hasPassed { return false }
                usleep(1_000)
            }
            return true
        }

        /// A rescan on the control thread, from inside a listener.
        func rescanAndDispatch() {
            dispatch(engine.isShutDown ? markShutDown() : rescan())
        }

        /// The control thread's loop.
        func run() {
            var seenGeneration = 0
            while !stopping.load(ordering: .acquiring) {
                let waitOn = engine
                let waitFor = waitOn.isShutDown && reopen != nil ? DeviceGraph.reopenInterval : 1_000
                // A broken event (it cannot fail on a live eventfd) must not
                // turn this loop into a spin: it then polls every 100 ms.
                if case .failed = waitOn.changes.event.wait(timeoutMilliseconds: waitFor) { usleep(100_000) }
                if stopping.load(ordering: .acquiring) { break }
                let sync = syncRequested.load(ordering: .acquiring)
                let (engine, generation) = current.withLock { ($0.engine, $0.generation) }
                var events: [Event] = []
                if generation != seenGeneration {
                    // A fresh engine: forget the shutdown, report what came back.
                    seenGeneration = generation
                    model.withLock { $0.shutDownReported = false }
                    _ = engine.changes.take()
                    events.append(.serverReturned)
                    events += rescan()
                }
                let changes = engine.changes.take()
                if engine.isShutDown {
                    events += markShutDown()
                    if reopen != nil {
                        dispatch(events)
                        events = []
                        _ = reopenNow()
                    }
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

    /// What the graphs of the process are found by.
    enum Key: Hashable, Sendable {
        /// An engine given directly.
        case engine(ObjectIdentifier)
        /// A JACK server name ("" for the default).
        case named(String)
    }

    /// The graphs of the process's engines.
    private static let graphs = SharedInstances<Key, DeviceGraph>()
}
