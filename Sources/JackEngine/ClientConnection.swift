import AudioGraph
import CJack
import Realtime
import Synchronization

/// A client's handle to its server (`jack_client_t *`) and the requests made
/// through it: one at a time, each waited for a bounded time.
///
/// jackd2 answers every client's requests on one server thread, which can
/// hold them for seconds: it waits for each client that does not answer a
/// notification (seen in the chaos test: Initialize took 9.8 s behind a
/// killed server's successor, about twice the client timeout). So requests
/// run on the client's request lane (``BoundedLane``): the caller waits at
/// most ``limitNanoseconds`` (less when its API call's ``CallDeadline`` is
/// nearer), its queue and the request lock included, and
/// then gets no answer (``Outcome/held``); until the held request returns,
/// the client's later requests get none at once. A port registered by a
/// request whose caller gave up is unregistered when it returns; an
/// unregistration runs even when its caller gave up.
///
/// Reads that ask libjack's own copy of the graph (rate, period, port
/// lookups) do not wait for requests: they hold the handle's lock only
/// (``withHandle(_:)``). ``JackClient/close()`` takes the handle under that
/// lock and frees it once the lane has drained (``drain(waitingAtMost:)``):
/// a request either runs before the close and is waited for, or finds the
/// handle gone.
///
/// Thread safety: any control thread; never JACK's threads.
final class ClientConnection: Sendable {
    /// How long a caller waits for its request, queue and lock included.
    static let limitNanoseconds: UInt64 = 1_000_000_000
    /// How long a request waits on the lane for the request lock (a metadata
    /// write of the same client holds it while it runs).
    static let lockWaitNanoseconds: UInt64 = 500_000_000

    /// One request at a time through the handle (``RequestLock``): the
    /// lane's requests and the metadata writes on the database thread.
    let requestLock = RequestLock()
    /// JACK may run the process callback: from `jack_activate` until
    /// `jack_deactivate` or `jack_client_close` has returned.
    let isActive = Atomic(false)
    private let handle: Mutex<JackClient.ClientHandle?>
    private let lane = BoundedLane(label: "wasapi-jack.jack-requests")
    private let graph: RealtimeBox<ProcessGraph>
    private let fencesUnregistration: Bool

    /// - Parameter fencesUnregistration: wait out jackd2's latency rounds
    ///   before a port is unregistered (``LatencyRoundFence``).
    init(handle: JackClient.ClientHandle, graph: RealtimeBox<ProcessGraph>, fencesUnregistration: Bool) {
        self.handle = Mutex(handle)
        self.graph = graph
        self.fencesUnregistration = fencesUnregistration
    }

    /// What a request came back with.
    enum Outcome<T: Sendable>: Sendable {
        case answered(T)
        /// The client was closed before the request ran.
        case closed
        /// No answer within the limit (the server or a metadata write held it).
        case held
    }

    // MARK: The handle

    /// Runs `body`, which reads libjack's local state and asks the server
    /// nothing, with the handle held against a concurrent close; nil once closed.
    func withHandle<T: Sendable>(_ body: (OpaquePointer) -> T) -> T? {
        handle.withLock { handle in handle.map { body($0.raw) } }
    }

    /// The handle for a call that may block for long and so must not hold
    /// the handle's lock: only on a thread that a close waits for (the
    /// metadata thread, ``MetadataAccess/waitUntilIdle(for:)``).
    var handleForCallsOffTheLane: OpaquePointer? { handle.withLock { $0?.raw } }

    /// Drops the handle for a close: later requests and reads find none.
    func take() -> JackClient.ClientHandle? {
        handle.withLock { handle in
            defer { handle = nil }
            return handle
        }
    }

    /// Waits, at most `nanoseconds`, until the requests queued before it have
    /// returned (not at all behind one held past the limit).
    func drain(waitingAtMost nanoseconds: UInt64) -> Bool {
        lane.drain(waitingAtMost: nanoseconds)
    }

    // MARK: Requests

    /// Runs `body`, which asks the server something, on the request lane
    /// holding the request lock.
    /// - Parameters:
    ///   - runsWhenAbandoned: it runs even after its caller gave up.
    ///   - late: what to do, on the lane, with the value of a request that
    ///     answered after its caller gave up.
    func request<T: Sendable>(runsWhenAbandoned: Bool = false,
                              _ body: @escaping @Sendable (OpaquePointer) -> T,
                              late: (@Sendable (T) -> Void)? = nil) -> Outcome<T> {
        let outcome = lane.perform(limit: CallDeadline.limit(Self.limitNanoseconds), stuckAfter: Self.limitNanoseconds,
                                   tag: tag, runsWhenAbandoned: runsWhenAbandoned, { [self] in
            holdingLock(body)
        }, late: { outcome in
            if case let .answered(value) = outcome { late?(value) }
        })
        return outcome ?? .held
    }

    /// Registers a port; a port registered after the caller gave up is
    /// unregistered again.
    func registerPort(_ shortName: String, flags: UInt) -> Outcome<EnginePort?> {
        request({ handle in
            jack_port_register(handle, shortName, JACK_DEFAULT_AUDIO_TYPE, flags, 0).map(EnginePort.init(jack:))
        }, late: { [self] port in
            guard let port else { return }
            _ = holdingLock { unregisterHoldingLock(port, handle: $0) }
        })
    }

    /// Unregisters `port`, even after the caller gave up waiting. On jackd2
    /// it first lets the latency rounds of earlier changes finish
    /// (``LatencyRoundFence``).
    func unregister(_ port: EnginePort) {
        _ = request(runsWhenAbandoned: true) { [self] handle in unregisterHoldingLock(port, handle: handle) }
    }

    /// Whether JACK may run a cycle of this client: active, and not shut down.
    var cyclesMayRun: Bool {
        isActive.load(ordering: .acquiring) && !graph.pointer.pointee.isShutDown.load(ordering: .acquiring)
    }

    private func unregisterHoldingLock(_ port: EnginePort, handle: OpaquePointer) {
        guard !graph.pointer.pointee.isShutDown.load(ordering: .acquiring) else { return }
        if fencesUnregistration && cyclesMayRun {
            LatencyRoundFence.wait(graph: graph.pointer, isRunning: { [self] in cyclesMayRun }) {
                let ownName = jack_get_client_name(handle)
                jack_get_uuid_for_client_name(handle, ownName).map { jack_free($0) }
            }
        }
        jack_port_unregister(handle, port.jack)
    }

    /// Runs `body` with the handle, holding the request lock: on the request
    /// lane, or on the metadata thread for a write (which then waits for
    /// the lock itself, see ``JackClient`` metadata).
    func holdingLock<T: Sendable>(_ body: (OpaquePointer) -> T) -> Outcome<T> {
        guard requestLock.lock(waitingAtMost: Self.lockWaitNanoseconds,
                               unless: { MetadataAccess.shared.isStuck(using: self) }) else { return .held }
        defer { requestLock.unlock() }
        guard let handle = handleForCallsOffTheLane else { return .closed }
        return .answered(body(handle))
    }

    /// This connection's tag on the lanes it uses (``MetadataAccess``).
    var tag: UInt { UInt(bitPattern: ObjectIdentifier(self)) }
}
