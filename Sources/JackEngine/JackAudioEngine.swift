import AudioGraph
import CJack
import CProcessCycle
import Glibc
import Realtime
import Synchronization

/// The ``AudioEngine`` of one process on one JACK server: a ``JackClient``
/// that every stream of the process shares, its process graph, and the
/// graph's endpoints as ``EndpointDiscovery`` groups them.
///
/// Engines are shared: ``shared(serverName:)`` returns the process's engine
/// for that server while anyone holds it, and closes the client when the last
/// holder lets go. An engine whose server went away stays with its holders
/// (their streams report it), and newcomers get a fresh one.
///
/// Thread safety: every member may be called from any thread except JACK's.
public final class JackAudioEngine: AudioEngine, @unchecked Sendable {
    /// The JACK client (for the command line's own probes and the tests).
    public let client: JackClient

    /// The engine of this process for `serverName`, opening it if needed.
    public static func shared(serverName: String?) throws(EngineError) -> JackAudioEngine {
        try engines.value(for: serverName ?? "", reuse: { !$0.isShutDown }) { () throws(EngineError) in
            try JackAudioEngine(serverName: serverName)
        }
    }

    private init(serverName: String?) throws(EngineError) {
        client = try JackClient(name: Self.clientName(), serverName: serverName)
        do { try client.activate() } catch {
            client.close()
            throw error
        }
    }

    deinit { client.close() }

    // MARK: Identity and facts

    public var serverName: String { client.resolvedServerName }
    public var clientName: String { client.name }
    public var implementation: String { JackImplementation.current }
    public var sampleRate: Int { client.sampleRate }
    public var bufferSize: Int { client.bufferSize }
    public var isShutDown: Bool { client.isShutDown }
    public var xrunCount: UInt64 { client.xrunCount }
    public var cycleClock: CycleClock { client.cycleClock }
    public var nowNanoseconds: UInt64 { trustedMonotonicNanoseconds() }

    // MARK: The endpoint graph

    public func scanEndpoints() -> [EndpointDescriptor] {
        EndpointDiscovery.discover(ports: client.scanPorts(), includeVirtual: true, excludingClients: [client.name])
    }

    public var changes: GraphChangeQueue { client.graphChanges }

    public func setBufferSize(_ frames: Int) throws(EngineError) -> Bool { try client.setBufferSize(frames) }

    // MARK: Ports

    public func registerPort(_ shortName: String, direction: PortDirection,
                             prettyName: String?) throws(EngineError) -> EnginePort {
        let port = try client.registerPort(shortName, direction: direction)
        if let prettyName {
            let uuid = client.uuid(of: port)
            if uuid != 0 { client.setProperty(MetadataKey.prettyName, of: uuid, to: prettyName) }
        }
        return port
    }

    public func unregister(_ port: EnginePort) { client.unregister(port) }

    public func connect(_ source: String, to destination: String) throws(EngineError) {
        try client.connect(source, to: destination)
    }

    public func disconnect(_ source: String, from destination: String) throws(EngineError) {
        try client.disconnect(source, from: destination)
    }

    public func connections(ofPort fullName: String) -> [String] { client.connections(ofPort: fullName) }

    public func reportLatency(of ports: [EnginePort], isOutput: Bool, frames: Int) {
        client.reportLatency(of: ports, isOutput: isOutput, frames: frames...frames)
    }

    public func graphLatency(of port: EnginePort, playback: Bool) -> Int {
        client.latencyRange(of: port, playback: playback).upperBound
    }

    // MARK: Real-time halves

    public func install(_ slot: RealtimeBox<StreamSlot>) throws(EngineError) -> InstalledSlot {
        try client.install(slot)
    }

    public func uninstall(_ token: InstalledSlot) { client.uninstall(token) }

    @discardableResult
    public func waitForCyclesInFlight() -> Bool { client.waitForCyclesInFlight() }

    public func installCallback(inputs: [EnginePort], outputs: [EnginePort],
                                function: wasapi_jack_process_function,
                                context: UnsafeMutableRawPointer?) throws(EngineError) -> any InstalledCallback {
        try JackInstalledCallback(client: client, inputs: inputs, outputs: outputs, function: function, context: context)
    }

    // MARK: Metadata

    public var ownSubject: UInt64? { client.ownUUID }

    public func subject(ofPort fullName: String) -> UInt64? {
        client.port(named: fullName).map { client.uuid(of: $0) }.flatMap { $0 == 0 ? nil : $0 }
    }

    public func isClientAlive(subject: UInt64) -> Bool { client.clientName(ofUUID: subject) != nil }

    public func property(_ key: String, of subject: UInt64) -> String? { client.property(key, of: subject) }

    @discardableResult
    public func setProperty(_ key: String, of subject: UInt64, to value: String, type: String) -> Bool {
        client.setProperty(key, of: subject, to: value, type: type)
    }

    @discardableResult
    public func removeProperty(_ key: String, of subject: UInt64) -> Bool { client.removeProperty(key, of: subject) }

    public func properties(withKeyPrefix prefix: String) -> [MetadataProperty] {
        client.properties(withKeyPrefix: prefix).map { MetadataProperty(subject: $0.subject, key: $0.key, value: $0.value) }
    }

    // MARK: Helpers

    private static func clientName() -> String {
        let program = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "app"
        return String((program.hasPrefix("wasapi") ? program : "wasapi-\(program)").prefix(48))
    }

    /// The process's engines by server name ("" for the default).
    private static let engines = SharedInstances<String, JackAudioEngine>()
}

/// An in-callback stream's ``CallbackSlot`` in a ``JackClient``'s process
/// graph, with its ports reporting JACK's latencies through unchanged.
final class JackInstalledCallback: InstalledCallback, @unchecked Sendable {
    private let client: JackClient
    private let slot: RealtimeBox<CallbackSlot>
    private let token: Mutex<InstalledSlot?>

    init(client: JackClient, inputs: [EnginePort], outputs: [EnginePort],
         function: wasapi_jack_process_function, context: UnsafeMutableRawPointer?) throws(EngineError) {
        self.client = client
        slot = RealtimeBox(CallbackSlot(inputs: inputs, outputs: outputs, sampleRate: client.sampleRate,
                                        function: function, context: context))
        token = Mutex(try client.install(slot))
        client.reportPassThroughLatency(inputs: inputs, outputs: outputs)
    }

    deinit { uninstall() }

    @discardableResult
    func setRunning(_ running: Bool) -> Bool {
        slot.pointer.pointee.running.store(running, ordering: .releasing)
        return running || client.waitForCyclesInFlight()
    }

    var framePosition: UInt64 { slot.pointer.pointee.framePosition.load(ordering: .acquiring) }

    func uninstall() {
        if let installed = token.withLock({ token in defer { token = nil }; return token }) {
            client.uninstall(installed)
        }
    }
}
