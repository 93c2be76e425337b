import CJack

/// The bits of JACK's `jack_status_t`, as returned by `jack_client_open`.
///
/// Plain value; any thread.
public struct JackStatus: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `JackFailure`: overall operation failed.
    public static let failure = JackStatus(rawValue: JackFailure.rawValue)
    /// `JackInvalidOption`: the operation contained an invalid or unsupported option.
    public static let invalidOption = JackStatus(rawValue: JackInvalidOption.rawValue)
    /// `JackNameNotUnique`: the desired client name was taken; JACK chose another.
    public static let nameNotUnique = JackStatus(rawValue: JackNameNotUnique.rawValue)
    /// `JackServerStarted`: the open started a server.
    public static let serverStarted = JackStatus(rawValue: JackServerStarted.rawValue)
    /// `JackServerFailed`: unable to connect to the server.
    public static let serverFailed = JackStatus(rawValue: JackServerFailed.rawValue)
    /// `JackServerError`: communication error with the server.
    public static let serverError = JackStatus(rawValue: JackServerError.rawValue)
    /// `JackNoSuchClient`: the requested client does not exist.
    public static let noSuchClient = JackStatus(rawValue: JackNoSuchClient.rawValue)
    /// `JackLoadFailure`: unable to load an internal client.
    public static let loadFailure = JackStatus(rawValue: JackLoadFailure.rawValue)
    /// `JackInitFailure`: unable to initialise a client.
    public static let initFailure = JackStatus(rawValue: JackInitFailure.rawValue)
    /// `JackShmFailure`: unable to access shared memory.
    public static let shmFailure = JackStatus(rawValue: JackShmFailure.rawValue)
    /// `JackVersionError`: client's protocol version does not match the server's.
    public static let versionError = JackStatus(rawValue: JackVersionError.rawValue)
    /// `JackBackendError`: the server's backend failed.
    public static let backendError = JackStatus(rawValue: JackBackendError.rawValue)
    /// `JackClientZombie`: the client was shut down by the server (too slow).
    public static let clientZombie = JackStatus(rawValue: JackClientZombie.rawValue)

    private static let names: [(JackStatus, String)] = [
        (.failure, "JackFailure"), (.invalidOption, "JackInvalidOption"),
        (.nameNotUnique, "JackNameNotUnique"), (.serverStarted, "JackServerStarted"),
        (.serverFailed, "JackServerFailed"), (.serverError, "JackServerError"),
        (.noSuchClient, "JackNoSuchClient"), (.loadFailure, "JackLoadFailure"),
        (.initFailure, "JackInitFailure"), (.shmFailure, "JackShmFailure"),
        (.versionError, "JackVersionError"), (.backendError, "JackBackendError"),
        (.clientZombie, "JackClientZombie"),
    ]

    public var description: String {
        let set = Self.names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "0" : set.joined(separator: "|")
    }
}

/// Why a JACK operation failed. Every case says what was attempted, so the
/// message alone tells a user what to do.
public enum JackError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No server answered under this name (nil: JACK's default server).
    case serverNotRunning(serverName: String?, status: JackStatus)
    /// The server answered but refused the client.
    case openFailed(clientName: String, serverName: String?, status: JackStatus)
    /// `jack_port_register` returned NULL.
    case portRegistrationFailed(portName: String)
    /// A port name was not found in the graph.
    case noSuchPort(String)
    /// `jack_connect` / `jack_disconnect` failed with this code.
    case connectionFailed(source: String, destination: String, code: Int32)
    /// `jack_activate` / `jack_deactivate` failed with this code.
    case activationFailed(code: Int32)
    /// The client has been closed, or the server shut it down.
    case clientClosed
    /// Every stream slot of the process graph is in use.
    case tooManyStreams(limit: Int)
    /// This process already has clients on another server; libjack (jackd2)
    /// keeps one server's state per process, so a second server is refused.
    case otherServerInUse(inUse: String, requested: String)

    public var description: String {
        switch self {
        case let .serverNotRunning(server, status):
            let shown = server.map { "'\($0)'" } ?? "(default)"
            let start = server.map { "jackd -n \($0) -d dummy" } ?? "jackd -d dummy"
            return "no JACK server \(shown) is running (status \(status)); start one, e.g. `\(start)`"
        case let .openFailed(client, server, status):
            return "JACK server \(server.map { "'\($0)'" } ?? "(default)") refused client '\(client)' (status \(status))"
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
        case let .tooManyStreams(limit):
            return "all \(limit) stream slots of this process are in use"
        }
    }
}
