/// One of an engine's own ports, as the engine registered it.
///
/// `handle` is the engine's own reference to the port (a `jack_port_t *` for
/// JACK, a buffer for the simulator); only the engine that made it reads it.
///
/// Plain value; any thread.
public struct EnginePort: Sendable, Hashable {
    /// The port's full name in the graph (`client:port`).
    public let name: String
    /// The engine's reference to the port.
    public nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    public init(name: String, handle: UnsafeMutableRawPointer) {
        self.name = name
        self.handle = handle
    }

    public static func == (lhs: EnginePort, rhs: EnginePort) -> Bool { lhs.handle == rhs.handle }
    public func hash(into hasher: inout Hasher) { hasher.combine(handle) }
}

/// Which way a port carries audio, seen from its own client.
public enum PortDirection: Sendable {
    /// The port receives audio (render endpoints are made of input ports).
    case input
    /// The port sends audio.
    case output
}

/// A metadata property as an engine lists it.
public struct MetadataProperty: Sendable, Equatable {
    public var subject: UInt64
    public var key: String
    public var value: String

    public init(subject: UInt64, key: String, value: String) {
        self.subject = subject
        self.key = key
        self.value = value
    }
}

/// Names a stream slot installed in an engine's cycle, for
/// ``AudioEngine/uninstall(_:)``.
public struct InstalledSlot: Hashable, Sendable {
    /// Which of the engine's tables holds the slot.
    public enum Kind: Hashable, Sendable { case stream, callback }
    public let kind: Kind
    public let index: Int

    public init(kind: Kind, index: Int) {
        self.kind = kind
        self.index = index
    }
}

/// Why an engine could not do what was asked. The WASAPI layer maps each to
/// its HRESULT.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No server answered under that name (`detail`: the engine's own status).
    case serverNotRunning(serverName: String?, detail: String)
    /// The server refused the client.
    case openFailed(clientName: String, serverName: String?, detail: String)
    /// The server could not register a port of that name.
    case portRegistrationFailed(portName: String)
    /// No port has that name.
    case noSuchPort(String)
    /// The server could not connect (or disconnect) two ports.
    case connectionFailed(source: String, destination: String, code: Int32)
    /// The server could not start or stop the client's cycle.
    case activationFailed(code: Int32)
    /// The client is closed, or the server went away.
    case clientClosed
    /// This process already talks to another server, and the engine's
    /// library allows one per process.
    case otherServerInUse(inUse: String, requested: String)
    /// A metadata call of this process, or an earlier open or close (libjack
    /// opens the database inside the first `jack_client_open` and closes it
    /// inside the last `jack_client_close`), has not returned, most likely
    /// waiting in jackd2's database behind a process that died inside it;
    /// opening a client now would make libjack free (or wait on) the
    /// database under that call.
    case metadataHeld(serverName: String?)
    /// The server did not answer a request through this client in time
    /// (it holds the client's requests, or a metadata write of the client
    /// waits in jackd2's database), or an earlier request still waits.
    case requestsHeld(clientName: String)

    public var description: String {
        switch self {
        case let .serverNotRunning(server, detail):
            let shown = server.map { "'\($0)'" } ?? "(default)"
            let start = server.map { "jackd -n \($0) -d dummy" } ?? "jackd -d dummy"
            return "no JACK server \(shown) is running (status \(detail)); start one, e.g. `\(start)`"
        case let .openFailed(client, server, detail):
            return "JACK server \(server.map { "'\($0)'" } ?? "(default)") refused client '\(client)' (status \(detail))"
        case let .portRegistrationFailed(name):
            return "JACK could not register port '\(name)' (name taken or too long?)"
        case let .noSuchPort(name):
            return "no JACK port named '\(name)'"
        case let .connectionFailed(source, destination, code):
            return "JACK could not connect '\(source)' to '\(destination)' (code \(code))"
        case let .activationFailed(code):
            return "JACK could not activate or deactivate the client (code \(code))"
        case .clientClosed:
            return "the JACK client is closed (or the server shut it down)"
        case let .otherServerInUse(inUse, requested):
            return "this process already uses JACK server '\(inUse)'; libjack allows one server per process, "
                + "so '\(requested)' cannot be opened until those clients close"
        case let .metadataHeld(server):
            return "cannot open a client on JACK server \(server.map { "'\($0)'" } ?? "(default)"): an earlier client open, "
                + "close or metadata call of this process has not returned; on jackd2 it is most likely held in the metadata "
                + "database (/dev/shm/jack_db-UID) by a process that died inside it"
        case let .requestsHeld(client):
            return "JACK server did not answer client '\(client)' within 1 s: the server holds its requests "
                + "(it may be waiting on another client), or jackd2's metadata database holds them"
        }
    }
}
