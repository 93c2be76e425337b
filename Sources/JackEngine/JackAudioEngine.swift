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
    /// The server name this engine was asked for ("" for the default): its key among the process's engines.
    package let sharingKey: String

    /// The engine of this process for `serverName`, opening it if needed.
    public static func shared(serverName: String?) throws(EngineError) -> JackAudioEngine {
        try engines.value(for: serverName ?? "", reuse: { !$0.isShutDown }) { () throws(EngineError) in
            try JackAudioEngine(serverName: serverName)
        }
    }

    private init(serverName: String?) throws(EngineError) {
        sharingKey = serverName ?? ""
        ProcessExit.install()
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
        client.properties(withKeyPrefix: prefix)
    }

    // MARK: Reopening

    /// Whether a server named `serverName` (nil: `$JACK_DEFAULT_SERVER` or
    /// "default") answers now, asked without opening a JACK client: jackd2's
    /// libjack tears down its process-wide state when `jack_client_open`
    /// fails, under the feet of a client the dead server left behind, so a
    /// graph waiting for its server to return must not poll with opens.
    ///
    /// jackd2 listens on `/dev/shm/jack_NAME_UID_0` (a killed server leaves
    /// the socket file, which then refuses connections). PipeWire's libjack
    /// has no such socket: there the answer is always true (an open is tried).
    package static func serverAnswers(serverName: String?) -> Bool {
        guard !JackImplementation.isPipeWire else { return true }
        let name = ServerRegistry.resolvedName(serverName)
        let path = "/dev/shm/jack_\(name)_\(getuid())_0"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return connected == 0
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
