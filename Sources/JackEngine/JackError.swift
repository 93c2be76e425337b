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
