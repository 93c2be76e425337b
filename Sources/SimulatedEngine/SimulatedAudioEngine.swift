import AudioGraph
import CProcessCycle
import Realtime
import Glibc
import Synchronization

private let serial = Atomic<Int>(0)

/// A deterministic ``AudioEngine``: a graph of ports in memory, a virtual
/// clock, and cycles that run only when a test calls ``runCycles(_:)``.
///
/// It is for state-machine tests of the WASAPI layer (padding, GetBuffer and
/// ReleaseBuffer rules, clock, events, error codes, sessions in one process):
/// nothing depends on a server or on how loaded the machine is, and a cycle
/// costs microseconds. It runs the same real-time halves as the JACK engine
/// (``StreamSlot``, in-callback functions), on its own port buffers, and sums
/// connected outputs into inputs the way JACK does. Integration tests keep
/// running against real servers; this engine never replaces them.
///
/// The graph starts with one client, `system`, with physical capture and
/// playback ports (`system:capture_N`, `system:playback_N`), like
/// `jackd -d dummy`. ``addEndpoint(client:flow:channels:)`` and
/// ``removeEndpoint(client:)`` add and remove others; ``shutDown()`` plays a
/// server that went away.
///
/// Thread safety: every method may be called from any thread. A cycle runs on
/// the thread that calls ``runCycles(_:)``, under the engine's lock, so no
/// cycle is ever in flight while another call holds it.
public final class SimulatedAudioEngine: AudioEngine, @unchecked Sendable {
    /// The graph's first shape.
    public struct Configuration: Sendable {
        public var sampleRate = 48_000
        public var period = 64
        public var captureChannels = 2
        public var playbackChannels = 2
        /// The simulated server's name: unique per engine unless set, so that
        /// per-server state (exclusive-use locks, session mirrors, default
        /// endpoints) never meets another test's.
        public var serverName = "simulated-\(getpid())-\(serial.add(1, ordering: .relaxed).newValue)"
        /// The priority of the engine's own client threads (nil: the engine
        /// does not run real-time), for application threads to sit under.
        public var realtimePriority: Int? = 10
        /// Whether the simulated system permits real-time scheduling.
        public var permitsRealtime = true

        public init() {}
    }

    /// The most frames a cycle can have (the largest period a stream's scratch buffers hold).
    public static let maximumPeriod = 8192

    public let serverName: String
    public let clientName = "wasapi-simulated"
    public let implementation = "simulated"
    public let changes: GraphChangeQueue
    private let state: Mutex<GraphState>
    private let clock = SeqlockCell(wordCount: CycleClock.wordCount)
    private let shutDownFlag = Atomic<Bool>(false)
    private let stalled = Atomic<Bool>(false)
    /// Ports whose connections ``connect(_:to:)`` refuses (``refuseConnections(to:_:)``).
    private let refused = Mutex<Set<String>>([])
    private let refusingProperties = Atomic<Bool>(false)
    private let propertyDelayMilliseconds = Atomic<Int>(0)
    /// Application threads' simulated scheduling (see ``realtimePriority(of:)``).
    let scheduling: Mutex<SimulatedScheduling>

    /// Creates the graph with the `system` client's ports.
    public init(_ configuration: Configuration = Configuration()) {
        serverName = configuration.serverName
        scheduling = Mutex(SimulatedScheduling(enginePriority: configuration.realtimePriority,
                                               permitted: configuration.permitsRealtime))
        changes = try! GraphChangeQueue()
        var graph = GraphState(sampleRate: configuration.sampleRate, period: configuration.period)
        graph.addClient("system", flow: .capture, channels: configuration.captureChannels, physical: true)
        graph.addClient("system", flow: .render, channels: configuration.playbackChannels, physical: true)
        state = Mutex(graph)
    }

    deinit {
        state.withLock { $0.releaseAll() }
    }

    // MARK: Driving the graph (tests)

    /// Runs `count` cycles of one period each on the calling thread: capture
    /// ports produce their signal, inputs receive the sum of what is
    /// connected to them, every slot runs, endpoints' playback ports receive
    /// what streams sent them, due events are raised, and the virtual clock
    /// advances by one period per cycle.
    ///
    /// The calling thread plays JACK's process thread, and like it must be
    /// the same thread for a stream's whole life: debug builds bind each
    /// stream's real-time reader roles (`LatestValue`, the capture packet
    /// queue) to the first thread that runs a cycle for it and trap on another.
    public func runCycles(_ count: Int = 1) {
        state.withLock { graph in
            for _ in 0..<count where !shutDownFlag.load(ordering: .acquiring) && !stalled.load(ordering: .acquiring) {
                graph.runCycle(publishingInto: clock)
            }
        }
    }

    /// Plays a cycle stuck in flight (a hung server, or a process function
    /// that never returns): while `stalled`, ``runCycles(_:)`` runs nothing
    /// and ``waitForCyclesInFlight()`` returns false at once, as JACK's
    /// engine does after its bounded wait. `false` lets cycles run again.
    public func stallCycles(_ stalled: Bool) {
        self.stalled.store(stalled, ordering: .releasing)
    }

    /// Makes ``connect(_:to:)`` fail for any connection to or from the port
    /// `portName` (full name) while `refuse` is true, as a server that
    /// rejects a connection would (JACK: `jack_connect` returning an error).
    public func refuseConnections(to portName: String, _ refuse: Bool = true) {
        refused.withLock { names in
            if refuse { names.insert(portName) } else { names.remove(portName) }
        }
    }

    /// Makes ``setProperty(_:of:to:type:)`` return false (nothing stored)
    /// while `refuse` is true, as a metadata write JACK refuses.
    public func refuseProperties(_ refuse: Bool) {
        refusingProperties.store(refuse, ordering: .releasing)
    }

    /// Makes every ``setProperty(_:of:to:type:)`` take `milliseconds` first,
    /// as jackd2's metadata database does when another process holds it.
    public func delayProperties(milliseconds: Int) {
        propertyDelayMilliseconds.store(milliseconds, ordering: .releasing)
    }

    /// Full names of every port in the graph, in registration order.
    public var portNames: [String] { state.withLock { $0.portOrder } }

    /// Moves the virtual clock without running a cycle (time passing while
    /// the server is stalled).
    public func advanceClock(nanoseconds: UInt64) {
        state.withLock { $0.skippedNanoseconds += nanoseconds }
    }

    /// Adds a client whose ports form an endpoint: `channels` physical
    /// playback ports (render) or capture ports (capture), named
    /// `client:playback_N` or `client:capture_N`.
    public func addEndpoint(client: String, flow: EndpointDescriptor.Flow, channels: Int) {
        let added = state.withLock { $0.addClient(client, flow: flow, channels: channels, physical: true) }
        for change in added { changes.append(change) }
    }

    /// Removes every port of `client`, as when a sound card is unplugged.
    public func removeEndpoint(client: String) {
        let removed = state.withLock { $0.removeClient(client) }
        for change in removed { changes.append(change) }
    }

    /// The server goes away: every later call fails as on a dead JACK server.
    public func shutDown() {
        shutDownFlag.store(true, ordering: .releasing)
        changes.event.signal()
    }

    /// What each capture port produces: `signal(channel, frame)` for the
    /// capture ports of `client` (channel from 0, frame counted from the
    /// first cycle). Silence until set.
    public func setCaptureSignal(client: String, _ signal: @escaping @Sendable (Int, UInt64) -> Float) {
        state.withLock { $0.captureSignals[client] = signal }
    }

    /// The samples the playback port `portName` received since the last call
    /// (at most ten seconds' worth are kept).
    public func takeRenderedSamples(port portName: String) -> [Float] {
        state.withLock { graph in
            defer { graph.rendered[portName] = [] }
            return graph.rendered[portName] ?? []
        }
    }

    /// Cycles run so far.
    public var cyclesRun: UInt64 { state.withLock { $0.cycles } }

    // MARK: AudioEngine: facts

    public var sampleRate: Int { state.withLock { $0.sampleRate } }
    public var bufferSize: Int { state.withLock { $0.period } }
    public var isShutDown: Bool { shutDownFlag.load(ordering: .acquiring) }
    public var xrunCount: UInt64 { 0 }
    public var cycleClock: CycleClock { CycleClock.load(from: clock) }
    public var nowNanoseconds: UInt64 { state.withLock { $0.nanoseconds } }

    // MARK: AudioEngine: graph

    public func scanEndpoints() -> [EndpointDescriptor] {
        state.withLock { $0.endpoints(excluding: clientName) }
    }

    public func setBufferSize(_ frames: Int) throws(EngineError) -> Bool {
        try checkAlive()
        guard frames > 0, frames <= Self.maximumPeriod else { return false }
        state.withLock { $0.period = frames }
        changes.append(.bufferSize(UInt32(frames)))
        return true
    }

    // MARK: AudioEngine: ports

    public func registerPort(_ shortName: String, direction: PortDirection,
                             prettyName: String?) throws(EngineError) -> EnginePort {
        try checkAlive()
        let name = "\(clientName):\(shortName)"
        let port = state.withLock { $0.registerPort(name, isOutput: direction == .output, physical: false) }
        guard let port else { throw .portRegistrationFailed(portName: name) }
        changes.append(.port(id: port.id, registered: true))
        return EnginePort(name: name, handle: UnsafeMutableRawPointer(port.buffer))
    }

    public func unregister(_ port: EnginePort) {
        guard let id = state.withLock({ $0.unregisterPort(port.name) }) else { return }
        changes.append(.port(id: id, registered: false))
    }

    public func connect(_ source: String, to destination: String) throws(EngineError) {
        try checkAlive()
        if refused.withLock({ $0.contains(source) || $0.contains(destination) }) {
            throw .connectionFailed(source: source, destination: destination, code: -1)
        }
        let ids = state.withLock { $0.connect(source, destination) }
        guard let ids else { throw .connectionFailed(source: source, destination: destination, code: -1) }
        changes.append(.connection(ids.0, ids.1, connected: true))
    }

    public func disconnect(_ source: String, from destination: String) throws(EngineError) {
        try checkAlive()
        let ids = state.withLock { $0.disconnect(source, destination) }
        guard let ids else { throw .connectionFailed(source: source, destination: destination, code: -1) }
        changes.append(.connection(ids.0, ids.1, connected: false))
    }

    public func connections(ofPort fullName: String) -> [String] {
        state.withLock { $0.connections(of: fullName) }
    }

    public func reportLatency(of ports: [EnginePort], isOutput: Bool, frames: Int) {}

    /// The simulated graph reports no latency between ports and hardware.
    public func graphLatency(of port: EnginePort, playback: Bool) -> Int { 0 }

    // MARK: AudioEngine: real-time halves

    public func install(_ slot: RealtimeBox<StreamSlot>) throws(EngineError) -> InstalledSlot {
        try checkAlive()
        return state.withLock { $0.install(slot) }
    }

    public func uninstall(_ token: InstalledSlot) {
        state.withLock { $0.uninstall(token) }
    }

    /// Cycles run under the engine's lock, so once it is taken none is in
    /// flight; false while ``stallCycles(_:)`` plays a stuck cycle.
    @discardableResult
    public func waitForCyclesInFlight() -> Bool {
        state.withLock { _ in !stalled.load(ordering: .acquiring) }
    }

    public func installCallback(inputs: [EnginePort], outputs: [EnginePort],
                                function: wasapi_jack_process_function,
                                context: UnsafeMutableRawPointer?) throws(EngineError) -> any InstalledCallback {
        try checkAlive()
        let callback = SimulatedCallback(engine: self, inputs: inputs, outputs: outputs,
                                         sampleRate: sampleRate, function: function, context: context)
        state.withLock { $0.callbacks[ObjectIdentifier(callback)] = callback }
        return callback
    }

    func withdraw(_ callback: SimulatedCallback) {
        _ = state.withLock { $0.callbacks.removeValue(forKey: ObjectIdentifier(callback)) }
    }

    // MARK: AudioEngine: metadata

    public var ownSubject: UInt64? { state.withLock { $0.clientSubject(clientName) } }

    public func subject(ofPort fullName: String) -> UInt64? {
        state.withLock { $0.ports[fullName]?.subject }
    }

    public func isClientAlive(subject: UInt64) -> Bool {
        state.withLock { $0.clientSubjects.values.contains(subject) }
    }

    public func property(_ key: String, of subject: UInt64) -> String? {
        state.withLock { $0.properties[subject]?[key] }
    }

    @discardableResult
    public func setProperty(_ key: String, of subject: UInt64, to value: String, type: String) -> Bool {
        guard !isShutDown, !refusingProperties.load(ordering: .acquiring) else { return false }
        let delay = propertyDelayMilliseconds.load(ordering: .acquiring)
        if delay > 0 { usleep(UInt32(delay) * 1_000) }
        let created = state.withLock { graph in
            defer { graph.properties[subject, default: [:]][key] = value }
            return graph.properties[subject]?[key] == nil
        }
        changes.append(.property(subject: subject, key: key, change: created ? .created : .changed))
        return true
    }

    @discardableResult
    public func removeProperty(_ key: String, of subject: UInt64) -> Bool {
        let removed = state.withLock { $0.properties[subject]?.removeValue(forKey: key) != nil }
        if removed { changes.append(.property(subject: subject, key: key, change: .deleted)) }
        return removed
    }

    public func properties(withKeyPrefix prefix: String) -> [MetadataProperty] {
        state.withLock { graph in
            graph.properties.flatMap { subject, values in
                values.filter { $0.key.hasPrefix(prefix) }.map { MetadataProperty(subject: subject, key: $0.key, value: $0.value) }
            }
        }
    }

    private func checkAlive() throws(EngineError) {
        if isShutDown { throw .clientClosed }
    }
}
