import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// The cross-process protocol of sessions and endpoint volumes: JACK metadata
/// properties holding small JSON objects (see docs/ARCHITECTURE.md, "Sessions,
/// volumes and ducking").
///
/// Everything read here was written by another client and is untrusted:
/// ``decode(_:from:)`` checks size, JSON types, ranges and finiteness, and a
/// value that fails is ignored and logged with ``MetadataLog``, never trusted
/// in part.
///
/// Thread safety: plain functions and values; any control thread.
enum SessionMetadata {
    /// Published state of one session, on the owning process's JACK client:
    /// `urn:wasapi-jack:session:ENDPOINT:GUID` = ``SessionRecord``.
    static let sessionPrefix = "urn:wasapi-jack:session:"
    /// A change request any process may write on the owner's client:
    /// `urn:wasapi-jack:session-request:ENDPOINT:GUID` = ``SessionRequest``.
    static let requestPrefix = "urn:wasapi-jack:session-request:"
    /// An endpoint's volume, on the JACK port of its first channel: ``EndpointVolumeRecord``.
    static let endpointVolumeKey = "urn:wasapi-jack:endpoint-volume"
    /// Touched on a process's own client after it rewrote the ducking preference file.
    static let duckingChangedKey = "urn:wasapi-jack:ducking-changed"

    /// The longest value accepted (JACK values are sanitised to this length).
    static let maximumLength = 1024
    /// The longest display name, icon path or grouping a record carries.
    static let maximumTextLength = 200
    /// The most channel volumes a record carries.
    static let maximumChannels = 32

    static func sessionKey(endpoint: String, guid: String) -> String { sessionPrefix + endpoint + ":" + guid }
    static func requestKey(endpoint: String, guid: String) -> String { requestPrefix + endpoint + ":" + guid }

    /// Decodes and validates `text` as a `T`; nil (and a log line naming
    /// `key`) for anything malformed.
    static func decode<T: Decodable & Validating>(_ type: T.Type, from text: String, key: String) -> T? {
        guard text.utf8.count < maximumLength else {
            MetadataLog.ignored(key: key, reason: "value too long")
            return nil
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            MetadataLog.ignored(key: key, reason: "not the expected JSON")
            return nil
        }
        if let problem = value.problem {
            MetadataLog.ignored(key: key, reason: problem)
            return nil
        }
        return value
    }

    /// `value` as compact JSON.
    /// - Throws: E_UNEXPECTED naming the failure when JSONEncoder rejects it
    ///   (a non-finite float, which validation should have stopped): a record
    ///   that cannot be encoded is never published, not even as "{}", which
    ///   every reader would take for a malformed record.
    static func encode<T: Encodable>(_ value: T) throws(AudioError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        } catch {
            throw AudioError(.E_UNEXPECTED, "cannot encode \(T.self) as JSON: \(error)")
        }
    }

    /// Whether `level` is a finite volume in 0...1.
    static func isVolume(_ level: Float) -> Bool { level.isFinite && level >= 0 && level <= 1 }
}

/// A metadata value that can say what is wrong with it after decoding.
protocol Validating {
    /// nil when valid; otherwise why the value is rejected.
    var problem: String? { get }
}

/// The published state of one session (the owner writes it after every change).
struct SessionRecord: Codable, Equatable, Sendable, Validating {
    var version = 1
    /// The JACK server's name: JACK's metadata database is shared by every
    /// server of the user, and subject UUIDs repeat between servers.
    var server: String
    var endpoint: String
    var guid: String
    /// IAudioSessionControl2::GetSessionIdentifier.
    var identifier: String
    /// IAudioSessionControl2::GetSessionInstanceIdentifier (unique on the server).
    var instance: String
    var pid: Int32
    var state: AudioSessionState
    var displayName = ""
    var iconPath = ""
    var grouping = UUID.null.registryFormat
    var systemSounds = false
    /// ISimpleAudioVolume: master volume 0...1 and mute.
    var volume: Float = 1
    var mute = false
    /// IChannelAudioVolume: one level per endpoint channel.
    var channels: [Float]
    /// A communications stream of the session is running (it ducks others).
    var communications = false
    /// IAudioSessionControl2::SetDuckingPreference(TRUE).
    var duckingOptOut = false
    /// The event context of the last change.
    var context = UUID.null.registryFormat
    /// Counts the owner's publications.
    var revision: UInt64 = 0

    var problem: String? {
        guard version == 1 else { return "unknown version \(version)" }
        guard [endpoint, guid, identifier, instance].allSatisfy({ !$0.isEmpty && $0.count <= 400 }) else { return "bad identifiers" }
        guard [displayName, iconPath, grouping].allSatisfy({ $0.count <= SessionMetadata.maximumTextLength }) else { return "text too long" }
        guard pid > 0 else { return "bad pid" }
        guard SessionMetadata.isVolume(volume) else { return "volume outside 0...1" }
        guard !channels.isEmpty, channels.count <= SessionMetadata.maximumChannels,
              channels.allSatisfy(SessionMetadata.isVolume) else { return "bad channel volumes" }
        guard UUID(registryFormat: context) != nil, UUID(registryFormat: grouping) != nil else { return "bad GUID" }
        return nil
    }
}

/// A change another process asks the owner of a session to make. Absent
/// fields stay as they are.
struct SessionRequest: Codable, Equatable, Sendable, Validating {
    var version = 1
    /// Unique per request: the owner applies each sequence number once.
    var sequence: UInt64
    var volume: Float?
    var mute: Bool?
    var channels: [Float]?
    var context: String

    var problem: String? {
        guard version == 1 else { return "unknown version \(version)" }
        if let volume, !SessionMetadata.isVolume(volume) { return "volume outside 0...1" }
        if let channels, channels.isEmpty || channels.count > SessionMetadata.maximumChannels
            || !channels.allSatisfy(SessionMetadata.isVolume) { return "bad channel volumes" }
        guard UUID(registryFormat: context) != nil else { return "bad event context" }
        guard volume != nil || mute != nil || channels != nil else { return "asks for nothing" }
        return nil
    }
}

/// An endpoint's volume, shared by every process on the server. Levels in
/// dB within ``AudioEndpointVolume/minimumDB``...``AudioEndpointVolume/maximumDB``.
struct EndpointVolumeRecord: Codable, Equatable, Sendable, Validating {
    var version = 1
    /// The JACK server's name (see ``SessionRecord/server``).
    var server: String
    var masterDB: Float = 0
    var channelDB: [Float]
    var mute = false
    var context = UUID.null.registryFormat
    var sequence: UInt64 = 0

    static func unity(server: String, channels: Int) -> EndpointVolumeRecord {
        EndpointVolumeRecord(server: server, channelDB: [Float](repeating: 0, count: max(channels, 1)))
    }

    var problem: String? {
        let range = AudioEndpointVolume.minimumDB...AudioEndpointVolume.maximumDB
        guard version == 1 else { return "unknown version \(version)" }
        guard masterDB.isFinite, range.contains(masterDB) else { return "master level outside the range" }
        guard !channelDB.isEmpty, channelDB.count <= SessionMetadata.maximumChannels,
              channelDB.allSatisfy({ $0.isFinite && range.contains($0) }) else { return "bad channel levels" }
        guard UUID(registryFormat: context) != nil else { return "bad event context" }
        return nil
    }
}

/// Warnings about metadata that was ignored, through swift-log under the
/// label `wasapi-jack.metadata`. Control threads only (never the process
/// thread); at most 100 per process, so that a client writing garbage in a
/// loop cannot flood the application's log.
enum MetadataLog {
    static let logger = Logger(label: "wasapi-jack.metadata")
    private static let budget = Atomic<Int>(0)

    static func ignored(key: String, reason: String) {
        guard budget.add(1, ordering: .relaxed).newValue <= 100 else { return }
        logger.warning("ignored metadata \(key.prefix(120)): \(reason)")
    }
}
