import AudioGraph
import CJack
import Glibc
import Realtime
import Synchronization

/// One JACK client: the connection of this process to a JACK server.
///
/// Opening never starts a server unless asked (``OpenOptions/startServer``):
/// a library must not spawn a system jackd behind the caller's back. The
/// client's process callback runs the ``ProcessGraph``; streams join it by
/// ``install(_:)`` and leave by ``uninstall(_:)``.
///
/// Thread safety: every method may be called from any control thread (JACK's
/// client API is thread-safe; the slot table is guarded by a mutex). None may
/// be called from JACK's process or notification threads. Requests to the
/// server wait a bounded time (``ClientConnection``).
public final class JackClient: @unchecked Sendable {
    /// Options for ``init(name:serverName:options:)``.
    public struct OpenOptions: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Start a server if none is running (JACK's own autostart).
        public static let startServer = OpenOptions(rawValue: 1)
        /// Fail instead of renaming when the client name is taken.
        public static let useExactName = OpenOptions(rawValue: 2)
    }

    /// The client's name as JACK registered it (it may differ from the requested one).
    public let name: String
    /// The server name the client was opened on (nil: JACK's default).
    public let serverName: String?
    /// The server name after defaults: `serverName`, `$JACK_DEFAULT_SERVER` or "default".
    public let resolvedServerName: String

    /// Graph changes JACK reported (ports, clients, connections, properties,
    /// period, rate, shutdown), for the library's control thread.
    public let graphChanges: GraphChangeQueue
    private let state = Mutex(State())
    private let graph = RealtimeBox(ProcessGraph())
    /// The stream ports' latencies, for JACK's latency callback.
    let latencies = PortLatencies()
    /// The handle, and the requests made through it (``ClientConnection``).
    let connection: ClientConnection
    /// What the notification callbacks reach (kept alive with the client).
    let notifications: NotificationContext
    /// The last rate and period read, answered once the client is closed
    /// (a stream's owner may still ask after the server went away).
    private let lastSampleRate = Atomic<Int>(0)
    private let lastBufferSize = Atomic<Int>(0)

    /// The `jack_client_t *`, Sendable so that it may cross locks and threads.
    struct ClientHandle: @unchecked Sendable { let raw: OpaquePointer }

    private struct State {
        /// Installed slots (their `RealtimeBox`es), kept alive here until
        /// withdrawn and quiescent.
        var installed: [InstalledSlot: any AnyObject & Sendable] = [:]
        /// Slots whose last cycle never finished (a hung server): never freed.
        var leaked: [any AnyObject & Sendable] = []
        /// Slot tables outgrown while cycles were stuck: never freed either.
        var leakedTables: [RetiredTable] = []
    }

    /// A slot table replaced by a larger one, on its way to being freed.
    private struct RetiredTable: @unchecked Sendable { let entries: UnsafeMutablePointer<SlotTable.Entries> }

    /// Opens a client on `serverName` (nil: the default server, or
    /// `$JACK_DEFAULT_SERVER`).
    /// - Throws: ``EngineError/serverNotRunning(serverName:detail:)`` when no server
    ///   answers, ``EngineError/openFailed(clientName:serverName:detail:)`` otherwise.
    public init(name: String, serverName: String? = nil, options: OpenOptions = []) throws(EngineError) {
        JackDiagnostics.installOnce()
        BrokenPipe.ignoreUnlessHandled()
        let resolvedServer = try ServerRegistry.checkIn(serverName)
        ServerRegistry.openLock.lock()
        defer { ServerRegistry.openLock.unlock() }
        // jackd2: a metadata call stuck in the database (MetadataAccess)
        // would have libjack free the database under it, or wait on it for
        // good, when jack_client_open finds the server of an earlier client
        // dead (it then closes every client and reopens the database).
        if Self.isHeldInMetadataDatabase && !JackImplementation.isPipeWire {
            ServerRegistry.checkOut(resolvedServer)
            throw .metadataHeld(serverName: serverName)
        }
        ServerRegistry.closeAllIfOneWasShutDown()
        var jackOptions = JackNullOption.rawValue
        if !options.contains(.startServer) { jackOptions |= JackNoStartServer.rawValue }
        if options.contains(.useExactName) { jackOptions |= JackUseExactName.rawValue }
        let openName = options.contains(.useExactName) ? name : ServerRegistry.nameAfterDeadClients(name, on: resolvedServer)
        guard let opened = BoundedOpenClose.open(
            name: openName, options: jack_options_t(rawValue: jackOptions), serverName: serverName,
            limit: options.contains(.startServer) ? BoundedOpenClose.startLimitNanoseconds
                                                  : BoundedOpenClose.openLimitNanoseconds)
        else {
            ServerRegistry.checkOut(resolvedServer)
            throw .metadataHeld(serverName: serverName)
        }
        let decoded = JackStatus(rawValue: opened.status)
        guard let handle = opened.handle else {
            ServerRegistry.checkOut(resolvedServer)
            if decoded.contains(.serverFailed) || decoded.contains(.serverError) {
                throw .serverNotRunning(serverName: serverName, detail: decoded.description)
            }
            throw .openFailed(clientName: name, serverName: serverName, detail: decoded.description)
        }
        guard let queue = try? GraphChangeQueue() else {
            jack_client_close(handle)
            ServerRegistry.checkOut(resolvedServer)
            throw .openFailed(clientName: name, serverName: serverName, detail: JackStatus.failure.description)
        }
        self.graphChanges = queue
        self.notifications = NotificationContext(changes: queue, latencies: latencies)
        self.name = String(cString: jack_get_client_name(handle))
        self.serverName = serverName
        self.resolvedServerName = resolvedServer
        self.connection = ClientConnection(handle: ClientHandle(raw: handle), graph: graph,
                                           fencesUnregistration: !latencies.setsRangesOutsideCallback)
        let argument = UnsafeMutableRawPointer(graph.pointer)
        graph.pointer.pointee.client.store(handle, ordering: .releasing)
        jack_set_process_callback(handle, graphProcessCallback, argument)
        jack_on_info_shutdown(handle, graphShutdownCallback, argument)
        jack_set_xrun_callback(handle, graphXrunCallback, argument)
        graph.pointer.pointee.shutdownNotifyDescriptor.store(queue.event.fileDescriptor, ordering: .releasing)
        NotificationCallbacks.install(on: handle, context: notifications)
        lastSampleRate.store(Int(jack_get_sample_rate(handle)), ordering: .relaxed)
        lastBufferSize.store(Int(jack_get_buffer_size(handle)), ordering: .relaxed)
        ServerRegistry.register(self, handle: ClientHandle(raw: handle), connection: connection,
                                graph: graph, notifications: notifications)
    }

    deinit { close() }

    // MARK: Server facts

    /// The server this process's open JACK clients are on (nil: none is open).
    /// libjack serves one server per process; a client on another server can
    /// be opened once this is nil (tests wait for it between servers).
    public static var serverInUse: String? { ServerRegistry.serverInUse }

    /// Whether a metadata call, or a client open or close, of this process
    /// has waited past its bound (``MetadataAccess``, ``BoundedOpenClose``),
    /// most likely in jackd2's metadata database: until it returns, no
    /// client opens in the process (``EngineError/metadataHeld(serverName:)``).
    /// Behind a process that died holding the database's lock, it never returns.
    public static var isHeldInMetadataDatabase: Bool { MetadataAccess.shared.isStuck || BoundedOpenClose.isStuck }

    /// The server's sample rate in Hz (once closed: the last one it had).
    public var sampleRate: Int {
        remembered(in: lastSampleRate) { Int(jack_get_sample_rate($0)) }
    }
    /// The server's period (buffer size) in frames (once closed: the last one it had).
    public var bufferSize: Int {
        remembered(in: lastBufferSize) { Int(jack_get_buffer_size($0)) }
    }
    /// Whether the server shut the client down (or went away).
    public var isShutDown: Bool { graph.pointer.pointee.isShutDown.load(ordering: .acquiring) }
    /// xruns JACK reported to this client since it opened.
    public var xrunCount: UInt64 { graph.pointer.pointee.xrunCount.load(ordering: .relaxed) }
    /// The last cycle's clock, published by the process thread once a stream
    /// slot has been installed (in-callback slots alone do not need it).
    public var cycleClock: CycleClock { CycleClock.load(from: graph.pointer.pointee.clock) }
    /// Which libjack this process loaded: "jackd2 1.9.21", "pipewire-jack …".
    public var implementation: String { JackImplementation.current }
    /// Whether that libjack is PipeWire's (pipewire-jack).
    public var isPipeWire: Bool { JackImplementation.isPipeWire }
    /// JACK's current time in microseconds (CLOCK_MONOTONIC based).
    public var currentMicroseconds: UInt64 { jack_get_time() }

    // MARK: Measurement

    /// The process callback and argument this client gave JACK
    /// (`jack_set_process_callback`); call it only on a client that is not
    /// active, or whose server is paused, so that JACK's process thread never
    /// runs it at the same time (benchmarks).
    public var _processCallbackForMeasurement: (
        function: @convention(c) (UInt32, UnsafeMutableRawPointer?) -> Int32,
        argument: UnsafeMutableRawPointer
    ) {
        (graphProcessCallback, UnsafeMutableRawPointer(graph.pointer))
    }

    // MARK: Ports

    /// Registers an audio port `shortName` on this client.
    public func registerPort(_ shortName: String, direction: PortDirection,
                             flags: PortFlags = []) throws(EngineError) -> EnginePort {
        guard !isShutDown else { throw .clientClosed }
        let port = try answer(of: connection.registerPort(shortName, flags: direction.flag | flags.rawValue))
        guard let port else { throw .portRegistrationFailed(portName: "\(name):\(shortName)") }
        return port
    }

    /// Reports the latency `ports` add (engine frames) to JACK. Render stream
    /// outputs report it as capture latency, capture stream inputs as
    /// playback latency. Control path.
    ///
    /// jackd2: the ranges are set in JACK's latency callback, and the server
    /// is asked once (not once per port) to recompute the graph's latencies.
    /// pipewire-jack (0.3.65; reworked upstream in 0.3.70/0.3.71): no
    /// `jack_recompute_total_latencies` from here at all. It only queues the
    /// recompute on libjack's loop, where a latency callback running at that
    /// moment executes it re-entrantly under a non-recursive lock and hangs
    /// the client (``PortLatencies`` has the details). The ranges are set
    /// here instead, and PipeWire runs the latency callback by itself
    /// whenever a link of ours completes or goes.
    public func reportLatency(of ports: [EnginePort], isOutput: Bool, frames: ClosedRange<Int>) {
        for port in ports { latencies.set(port, isOutput: isOutput, frames: frames) }
        recomputeLatencies()
    }

    /// Reports `inputs` and `outputs` as one in-callback stream that adds no
    /// latency: JACK's latencies pass through it unchanged. Control path.
    public func reportPassThroughLatency(inputs: [EnginePort], outputs: [EnginePort]) {
        latencies.setPassThrough(inputs: inputs, outputs: outputs)
        recomputeLatencies()
    }

    /// `jack_recompute_total_latencies` on jackd2; nothing on pipewire-jack
    /// (see ``reportLatency(of:isOutput:frames:)``).
    private func recomputeLatencies() {
        guard !latencies.setsRangesOutsideCallback else { return }
        _ = withRequest { jack_recompute_total_latencies($0) }
    }

    /// Unregisters one of this client's ports, even when the server holds
    /// the request past the caller's wait (``ClientConnection``). After the
    /// server went away there is nothing to unregister, and libjack's state
    /// may already be torn down: nothing is called then. On jackd2 it first
    /// lets the latency rounds of earlier changes finish
    /// (``LatencyRoundFence``).
    public func unregister(_ port: EnginePort) {
        latencies.remove(port)
        guard !isShutDown else { return }
        connection.unregister(port)
    }

    /// Looks a port up by its exact full name (no pattern matching).
    public func port(named fullName: String) -> EnginePort? {
        withHandle { jack_port_by_name($0, fullName).map(EnginePort.init(jack:)) } ?? nil
    }

    /// Full names of the audio ports whose flags include `flags`, optionally
    /// filtered by a JACK name regular expression (escape user text!).
    public func portNames(matching pattern: String? = nil, flags: PortFlags = []) -> [String] {
        withHandle { handle -> [String] in
            guard let list = jack_get_ports(handle, pattern, JACK_DEFAULT_AUDIO_TYPE, flags.rawValue)
            else { return [] }
            defer { jack_free(UnsafeMutableRawPointer(mutating: list)) }
            return stringList(list)
        } ?? []
    }

    /// Connects `source` (an output port) to `destination` (an input port).
    /// Connecting an existing connection again is not an error.
    public func connect(_ source: String, to destination: String) throws(EngineError) {
        let code = try withOpenRequest { jack_connect($0, source, destination) }
        latencies.refreshPassThrough()
        if code != 0 && code != EEXIST {
            throw .connectionFailed(source: source, destination: destination, code: code)
        }
    }

    /// Disconnects `source` from `destination`.
    public func disconnect(_ source: String, from destination: String) throws(EngineError) {
        let code = try withOpenRequest { jack_disconnect($0, source, destination) }
        latencies.refreshPassThrough()
        if code != 0 { throw .connectionFailed(source: source, destination: destination, code: code) }
    }

    // MARK: Life cycle

    /// Starts the process callback (`jack_activate`).
    /// The client counts as active from before the request, so that a
    /// callback never runs while it does not (an activation the server held
    /// past the caller's wait may still succeed).
    public func activate() throws(EngineError) {
        let connection = connection
        let code = try withOpenRequest { handle in
            connection.isActive.store(true, ordering: .releasing)
            let code = jack_activate(handle)
            if code != 0 { connection.isActive.store(false, ordering: .releasing) }
            return code
        }
        guard code == 0 else { throw .activationFailed(code: code) }
    }

    /// Closes the client (deactivating it first). No callback runs afterwards.
    /// Safe to call more than once.
    public func close() {
        ServerRegistry.openLock.lock()
        defer { ServerRegistry.openLock.unlock() }
        closeHoldingOpenLock()
    }

    /// Marks a client still running as shut down (its owner then sees the
    /// server gone, as after JACK's shutdown callback) and closes it. Called
    /// by ``ServerRegistry`` holding the open lock, before another client
    /// opens after one was shut down.
    func closeAfterServerShutdown() {
        markShutDownUnlessDropped(graph.pointer)
        closeHoldingOpenLock()
    }

    private func closeHoldingOpenLock() {
        let closedByRegistry = ServerRegistry.unregister(self)
        if isShutDown { ServerRegistry.noteDeadClientClosed(on: resolvedServerName) }
        guard let handle = connection.take()?.raw else { return }
        // jackd2's libjack keeps a client left open, and with it the server
        // it is on: no client of another server may open in this process.
        var pinsServer = false
        if closedByRegistry {
            // Already closed for this deinit (ServerRegistry.closeAllIfOneWasShutDown).
        } else if !MetadataAccess.shared.waitUntilIdle(for: connection)
                    || !connection.drain(waitingAtMost: Self.requestDrainNanoseconds) {
            // A metadata write through this handle is stuck in the database
            // (MetadataAccess), or the server holds a request of it
            // (ClientConnection): closing would free the client under it. It
            // is left open, its callbacks doing nothing.
            markShutDownUnlessDropped(graph.pointer)
            leaveOpen()
            pinsServer = !JackImplementation.isPipeWire
        } else if !isShutDown || !JackImplementation.isPipeWire {
            // jackd2: closing a client the server dropped is safe as long as
            // no client opened since (ServerRegistry sees to it), and it
            // stops the process thread libjack left waiting for the server.
            _ = Self.deactivateAndClose(ClientHandle(raw: handle), graph: graph, notifications: notifications)
        } else {
            // pipewire-jack: a dropped client is left alone (its process
            // thread may run the callback again: see ProcessGraph.runCycle).
            leaveOpen()
        }
        if !pinsServer { ServerRegistry.checkOut(resolvedServerName) }
        graph.pointer.pointee.client.store(nil, ordering: .releasing)
        connection.isActive.store(false, ordering: .releasing)
        state.withLock { $0.installed.removeAll() }
    }

    /// How long a close waits for the requests queued before it.
    static let requestDrainNanoseconds: UInt64 = 1_000_000_000

    /// Keeps what libjack's threads reach (the graph, the notification
    /// context) for the rest of the process, a few kilobytes, with the
    /// notification callbacks shut out; the slots go once a cycle caught by
    /// the shutdown has surely ended.
    private func leaveOpen() {
        _ = notifications.gate.shut(waitingAtMost: Self.notificationDrainNanoseconds)
        _ = Unmanaged.passRetained(notifications)
        _ = Unmanaged.passRetained(graph)
        graph.pointer.pointee.waitOutCycleAtShutdown()
    }

    /// The last steps of every close on jackd2 and of a live client on
    /// pipewire-jack: the notification callbacks are shut out first, since
    /// jackd2 cancels their thread wherever it is (``NotificationGate``).
    /// Waited for at most ``BoundedOpenClose/closeLimitNanoseconds``: a
    /// server that holds requests, or the metadata database, can hold a close.
    /// - Returns: whether the close returned in time. If not, it goes on on
    ///   a thread of its own with `graph` and `notifications` kept alive,
    ///   and the client is marked shut down, so that a cycle run meanwhile
    ///   does nothing.
    static func deactivateAndClose(_ handle: ClientHandle, graph: RealtimeBox<ProcessGraph>,
                                   notifications: NotificationContext) -> Bool {
        let gate = notifications.gate
        let closed = BoundedOpenClose.close(limit: BoundedOpenClose.closeLimitNanoseconds,
                                            keepingAlive: [graph, notifications]) {
            _ = gate.shut(waitingAtMost: notificationDrainNanoseconds)
            jack_deactivate(handle.raw)
            jack_client_close(handle.raw)
        }
        if !closed {
            markShutDownUnlessDropped(graph.pointer)
            graph.pointer.pointee.waitOutCycleAtShutdown()
        }
        return closed
    }

    /// How long a close waits for a notification callback to return: they
    /// take microseconds; one stuck longer is cancelled with its thread.
    static let notificationDrainNanoseconds: UInt64 = 500_000_000

    // MARK: Streams

    /// Hands `slot` to the process callback; it runs from the next cycle on.
    /// - Returns: the token for ``uninstall(_:)``.
    /// The number of streams has no limit but JACK's own on ports: a full
    /// slot table is replaced by a larger one.
    public func install(_ slot: RealtimeBox<StreamSlot>) throws(EngineError) -> InstalledSlot {
        try install(slot, kind: .stream, pointer: UnsafeMutableRawPointer(slot.pointer))
    }

    /// Hands an in-callback `slot` to the process callback, which runs it
    /// before the stream slots from the next cycle on.
    public func install(_ slot: RealtimeBox<CallbackSlot>) throws(EngineError) -> InstalledSlot {
        try install(slot, kind: .callback, pointer: UnsafeMutableRawPointer(slot.pointer)) { handle in
            slot.pointer.pointee.attach(to: handle)
        }
    }

    /// Publishes `pointer` after `prepare` has seen the open handle. When the
    /// table had to grow, the table it outgrew is freed once no cycle can
    /// still walk it (kept forever if cycles are stuck).
    private func install(_ box: any AnyObject & Sendable, kind: InstalledSlot.Kind, pointer: UnsafeMutableRawPointer,
                         prepare: (OpaquePointer) -> Void = { _ in }) throws(EngineError) -> InstalledSlot {
        let result = connection.withHandle { handle in
            state.withLock { state -> (InstalledSlot, RetiredTable?) in
                prepare(handle)
                let published = graph.pointer.pointee.publish(pointer, kind: kind)
                let token = InstalledSlot(kind: kind, index: published.index)
                state.installed[token] = box
                return (token, published.retired.map(RetiredTable.init))
            }
        }
        guard let (token, retired) = result else { throw .clientClosed }
        if let retired {
            if waitForCyclesInFlight() {
                SlotTable.free(retired.entries)
            } else {
                state.withLock { $0.leakedTables.append(retired) }
            }
        }
        return token
    }

    /// Withdraws an installed slot and returns once the process callback can
    /// no longer touch it, so its memory may be freed.
    public func uninstall(_ token: InstalledSlot) {
        // The token leaves the table at once, so a second uninstall of it
        // finds nothing; its index stays taken until the wait is over.
        let slot = state.withLock { state -> (any AnyObject & Sendable)? in
            guard let slot = state.installed.removeValue(forKey: token) else { return nil }
            graph.pointer.pointee.withdraw(token)
            return slot
        }
        guard let slot else { return }
        let quiescent = waitForCyclesInFlight()
        state.withLock { state in
            // A cycle that never finished may still hold the pointer: leak the
            // slot (and keep its index) rather than free memory the process
            // thread could touch.
            if quiescent {
                graph.pointer.pointee.release(token)
            } else {
                state.leaked.append(slot)
            }
        }
    }

    /// Returns once every process cycle that had started when it was called
    /// has finished (within about one period): after a slot stops running,
    /// its ring and pipeline are then the caller's alone (IAudioClient::Reset).
    /// - Returns: false when no cycle finished within the bound (1 s, or
    ///   what is left of the API call's ``CallDeadline``: a stuck server).
    @discardableResult
    public func waitForCyclesInFlight() -> Bool {
        let limit = CallDeadline.limit(Self.cycleWaitNanoseconds)
        return graph.pointer.pointee.waitForCyclesInFlight(timeoutMilliseconds: Int(limit / 1_000_000)) { [connection] in
            connection.cyclesMayRun
        }
    }

    /// How long a wait for the cycles in flight lasts at most: 1 s, ten
    /// times the longest period (4096 frames at 44.1 kHz is 93 ms), and under
    /// the 2 s an API call may take (a 2 s bound, kept exactly once it was
    /// measured on the clock, made a chaos run's Reset take 2.0002 s).
    static let cycleWaitNanoseconds: UInt64 = 1_000_000_000

    /// Asks the server for a new period (`jack_set_buffer_size`); every
    /// client on the server follows. Control path.
    /// - Throws: ``EngineError/clientClosed`` when the client is gone;
    ///   `false` when the server refused the size.
    @discardableResult
    public func setBufferSize(_ frames: Int) throws(EngineError) -> Bool {
        try withOpenRequest { jack_set_buffer_size($0, jack_nframes_t(frames)) == 0 }
    }

    /// The latency range JACK reports for `port` in `mode` (frames; zero
    /// until the port is connected). Control path.
    public func latencyRange(of port: EnginePort, playback: Bool) -> ClosedRange<Int> {
        var range = jack_latency_range_t(min: 0, max: 0)
        _ = withHandle { _ in
            jack_port_get_latency_range(port.jack, playback ? JackPlaybackLatency : JackCaptureLatency, &range)
        }
        return Int(range.min)...Int(max(range.min, range.max))
    }

    // MARK: Helpers

    /// `read` with the open handle, remembered in `cell`; the remembered
    /// value once the client is closed or the server dropped it.
    private func remembered(in cell: borrowing Atomic<Int>, _ read: (OpaquePointer) -> Int) -> Int {
        if !isShutDown, let value = withHandle(read), value > 0 {
            cell.store(value, ordering: .relaxed)
            return value
        }
        return cell.load(ordering: .relaxed)
    }

    /// Runs `body`, which reads libjack's local state and asks the server
    /// nothing, with the handle held against a concurrent ``close()``.
    func withHandle<T: Sendable>(_ body: (OpaquePointer) -> T) -> T? {
        connection.withHandle(body)
    }

    /// Runs `body`, which asks the server something, on the client's request
    /// lane (``ClientConnection``); nil when the client is closed or the
    /// request was not answered in time.
    func withRequest<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) -> T) -> T? {
        try? answer(of: connection.request(body))
    }

    /// ``withRequest(_:)`` on a client the server has not shut down.
    /// - Throws: ``EngineError/requestsHeld(clientName:)`` when it was not
    ///   answered in time; ``EngineError/clientClosed``.
    func withOpenRequest<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) -> T) throws(EngineError) -> T {
        guard !isShutDown else { throw .clientClosed }
        return try answer(of: connection.request(body))
    }

    private func answer<T: Sendable>(of outcome: ClientConnection.Outcome<T>) throws(EngineError) -> T {
        switch outcome {
        case let .answered(value): return value
        case .closed: throw .clientClosed
        case .held: throw .requestsHeld(clientName: name)
        }
    }
}
