import CProcessCycle
import Glibc
import Realtime

/// What the WASAPI layer needs of an audio engine: the seam between WASAPI's
/// semantics and the graph that moves the audio.
///
/// Two engines implement it: `JackAudioEngine` (module `JackEngine`: one JACK
/// client per process and server) and `SimulatedAudioEngine` (module
/// `SimulatedEngine`: a deterministic graph with a virtual clock and manual
/// cycle stepping, for state-machine tests).
///
/// The engine knows nothing of WASAPI: it reports groups of terminal ports as
/// ``EndpointDescriptor``s, registers and wires ports, runs the real-time
/// halves of streams (``StreamSlot``) once per cycle, publishes the cycle
/// clock, and stores metadata properties that every process on the same
/// server sees. Endpoint ids, device states, sessions, error codes and
/// buffer rules are the WASAPI layer's.
///
/// Everything here is control path: calls may allocate, lock and block
/// (boundedly). The real-time path never goes through this protocol: each
/// engine calls ``StreamSlot/process(frames:nanoseconds:)`` directly from its
/// own cycle, with no existential or generic dispatch.
///
/// Thread safety: every requirement may be called from any thread except the
/// engine's own real-time and notification threads.
public protocol AudioEngine: AnyObject, Sendable {
    // MARK: Identity and facts

    /// The server the engine talks to, after defaults (JACK: `-n` name).
    var serverName: String { get }
    /// The name the engine's client has in the graph (its ports are `clientName:port`).
    var clientName: String { get }
    /// What implements the graph, with its version (`jackd2 1.9.21`, `simulated`).
    var implementation: String { get }
    /// The graph's sample rate in Hz.
    var sampleRate: Int { get }
    /// The graph's period (frames per cycle).
    var bufferSize: Int { get }
    /// Whether the server went away (or dropped this client) for good.
    var isShutDown: Bool { get }
    /// Cycles the server reported as late (xruns) since the engine opened.
    var xrunCount: UInt64 { get }
    /// The last cycle's clock (``CycleClock/cycleCount`` 0: none ran yet).
    var cycleClock: CycleClock { get }
    /// The engine's clock now, in nanoseconds (CLOCK_MONOTONIC for JACK,
    /// virtual for the simulator): the time base of cycle times and QPC.
    var nowNanoseconds: UInt64 { get }

    // MARK: The endpoint graph

    /// The endpoints the graph has now: groups of terminal ports (physical
    /// and, with `includeVirtual`, other applications' port groups), excluding
    /// the engine's own ports.
    func scanEndpoints() -> [EndpointDescriptor]
    /// Graph changes (ports, clients, connections, properties, period, rate,
    /// shutdown) for a control thread to consume.
    var changes: GraphChangeQueue { get }
    /// Asks the server for a new period; false when it refused.
    func setBufferSize(_ frames: Int) throws(EngineError) -> Bool

    // MARK: Ports

    /// Registers a port named `shortName` on the engine's client, with an
    /// optional human-readable name for patchbays.
    func registerPort(_ shortName: String, direction: PortDirection, prettyName: String?) throws(EngineError) -> EnginePort
    /// Unregisters one of the engine's ports (nothing after a shutdown).
    func unregister(_ port: EnginePort)
    /// Connects an output port to an input port (an existing connection is no error).
    func connect(_ source: String, to destination: String) throws(EngineError)
    /// Disconnects `source` from `destination`.
    func disconnect(_ source: String, from destination: String) throws(EngineError)
    /// Full names of the ports connected to the port `fullName`.
    func connections(ofPort fullName: String) -> [String]
    /// Reports the latency `ports` add, in engine frames, to the graph
    /// (outputs as capture latency, inputs as playback latency).
    func reportLatency(of ports: [EnginePort], isOutput: Bool, frames: Int)
    /// The largest latency the graph reports between `port` and the
    /// hardware (render: playback; capture: capture), in engine frames.
    func graphLatency(of port: EnginePort, playback: Bool) -> Int

    // MARK: Real-time halves

    /// Hands a stream's real-time half to the engine's cycle; it runs from the
    /// next cycle on. The slot's port handles must come from this engine.
    func install(_ slot: RealtimeBox<StreamSlot>) throws(EngineError) -> InstalledSlot
    /// Withdraws a slot; returns once no cycle can touch it any more.
    func uninstall(_ token: InstalledSlot)
    /// Returns once every cycle that had begun when it was called has
    /// finished; false if cycles are stuck (bounded wait).
    @discardableResult
    func waitForCyclesInFlight() -> Bool
    /// Installs an in-callback stream: `function` runs inside the engine's
    /// cycle on the port buffers of `inputs` and `outputs`.
    func installCallback(inputs: [EnginePort], outputs: [EnginePort],
                         function: wasapi_jack_process_function,
                         context: UnsafeMutableRawPointer?) throws(EngineError) -> any InstalledCallback

    // MARK: Metadata shared by every process on the server

    /// The subject id of the engine's own client, for its own properties.
    var ownSubject: UInt64? { get }
    /// The subject id of the port `fullName`, if it exists.
    func subject(ofPort fullName: String) -> UInt64?
    /// Whether a client with subject id `subject` is still in the graph.
    func isClientAlive(subject: UInt64) -> Bool
    /// A property's value (sanitised: bounded length, no control characters).
    func property(_ key: String, of subject: UInt64) -> String?
    /// Sets a property; false when the server refused.
    @discardableResult
    func setProperty(_ key: String, of subject: UInt64, to value: String, type: String) -> Bool
    /// Removes a property; false when there was none or the server refused.
    @discardableResult
    func removeProperty(_ key: String, of subject: UInt64) -> Bool
    /// Every property whose key starts with `prefix`, on any subject.
    func properties(withKeyPrefix prefix: String) -> [MetadataProperty]

    // MARK: Application threads (MMCSS's "Pro Audio" task)

    /// Gives `thread` real-time scheduling `steps` (at least 1) priorities
    /// below the engine's own client threads (JACK:
    /// `jack_client_real_time_priority`, the priority of the process thread
    /// that runs the streams), through the engine's own helper, so that the
    /// thread preempts ordinary work but never the engine's cycle; returns
    /// the priority set (at least 1).
    func acquireRealtimeScheduling(thread: pthread_t, belowEngineBy steps: Int) throws(RealtimeSchedulingError) -> Int
    /// Returns `thread` to ordinary (`SCHED_OTHER`) scheduling through the
    /// engine's own helper.
    func dropRealtimeScheduling(thread: pthread_t) throws(RealtimeSchedulingError)
}

/// An in-callback stream installed in an engine's cycle.
///
/// Thread safety: any control thread.
public protocol InstalledCallback: AnyObject, Sendable {
    /// Starts or stops calling the function; after `false` returns true, no
    /// cycle calls it any more and the outputs carry silence. Returns false
    /// when stopping timed out waiting for a cycle in flight (cycles stuck):
    /// the function may still be running, so its context must stay alive.
    @discardableResult
    func setRunning(_ running: Bool) -> Bool
    /// Frames processed since the stream was installed.
    var framePosition: UInt64 { get }
    /// Withdraws the stream; no cycle touches it once this returns.
    func uninstall()
}

extension AudioEngine {
    /// Sets a plain-text property; false when the server refused.
    @discardableResult
    public func setProperty(_ key: String, of subject: UInt64, to value: String) -> Bool {
        setProperty(key, of: subject, to: value, type: "text/plain")
    }
}
