import AudioGraph
import CJack

/// JACK metadata (the property database every client on the server shares).
///
/// Values written by other clients are untrusted: ``property(_:of:)`` returns
/// at most ``MetadataLimits/maximumValueLength`` characters, with invalid UTF-8
/// repaired and control characters removed, or nil.
///
/// Thread safety: control threads only (the database is a file; never on the
/// process thread).
extension JackClient {
    /// The UUID of a port (0 if the port is unknown).
    public func uuid(of port: EnginePort) -> UInt64 { jack_port_uuid(port.jack) }

    /// The UUID of the client named `clientName`, or nil if it is not registered.
    public func uuid(ofClient clientName: String) -> UInt64? {
        let text: String?? = withRequest { handle in
            guard let raw = jack_get_uuid_for_client_name(handle, clientName) else { return nil }
            defer { jack_free(raw) }
            return String(cString: raw)
        }
        guard let text = text ?? nil else { return nil }
        var uuid: jack_uuid_t = 0
        return jack_uuid_parse(text, &uuid) == 0 ? uuid : nil
    }

    /// This client's own UUID, asked of the client itself
    /// (`jack_client_get_uuid`): looking the name up instead finds another
    /// process's client where the server lets two clients share a name
    /// (pipewire-jack 0.3.65 does not make duplicate names unique).
    /// nil once the server dropped the client: libjack's state behind a dead
    /// client's handle may be gone (see ``close()``), so it is not asked.
    public var ownUUID: UInt64? {
        guard !isShutDown else { return nil }
        let text: String?? = withHandle { handle in
            guard let raw = jack_client_get_uuid(handle) else { return nil }
            defer { jack_free(raw) }
            return String(cString: raw)
        }
        guard let text = text ?? nil else { return nil }
        var uuid: jack_uuid_t = 0
        return jack_uuid_parse(text, &uuid) == 0 && uuid != 0 ? uuid : nil
    }

    /// The value of `key` on `subject`, sanitised, or nil if unset (or if
    /// the database did not answer: ``MetadataAccess``).
    public func property(_ key: String, of subject: UInt64) -> String? {
        onDatabase(nil) { _ in
            var value: UnsafeMutablePointer<CChar>?
            var type: UnsafeMutablePointer<CChar>?
            guard jack_get_property(subject, key, &value, &type) == 0, let value else { return nil }
            defer {
                jack_free(value)
                if let type { jack_free(type) }
            }
            return MetadataLimits.sanitise(value)
        }
    }

    /// Sets `key` on `subject` (any client's or port's UUID) to `value`.
    /// - Returns: whether JACK accepted it (false too if the database did not
    ///   answer in time: ``MetadataAccess``).
    @discardableResult
    public func setProperty(_ key: String, of subject: UInt64, to value: String,
                            type: String = "text/plain") -> Bool {
        guard mayWriteMetadata else { return false }
        return onDatabase(false, sendsRequest: true) { jack_set_property($0, subject, key, value, type) == 0 }
    }

    /// Removes `key` from `subject`.
    @discardableResult
    public func removeProperty(_ key: String, of subject: UInt64) -> Bool {
        guard mayWriteMetadata else { return false }
        return onDatabase(false, sendsRequest: true) { jack_remove_property($0, subject, key) == 0 }
    }

    /// Runs `body` with this client's handle on the database thread
    /// (``MetadataAccess``), or answers `fallback` if the database did not
    /// answer in time or the client closed. The handle is looked up there,
    /// after the call is marked as this client's, so ``close()`` either sees
    /// the call running (and waits for it) or the call finds the handle
    /// gone: no call runs once the client closed, and libjack, which frees
    /// its database handle with the process's last client, never frees it
    /// under a call. `sendsRequest`: `body` also asks the server something
    /// (writes tell it what changed), one request at a time with the
    /// client's others (``RequestLock``) but not on the request lane, which
    /// the database could then hold for good.
    private func onDatabase<T: Sendable>(_ fallback: T, sendsRequest: Bool = false,
                                         _ body: @escaping @Sendable (OpaquePointer) -> T) -> T {
        let connection = connection
        return MetadataAccess.shared.perform(for: connection) {
            if sendsRequest {
                guard case let .answered(value) = connection.holdingLock(body) else { return fallback }
                return value
            }
            return connection.handleForCallsOffTheLane.map { body($0) } ?? fallback
        } ?? fallback
    }

    /// Metadata is shared by every process on the server (and jackd2 keeps
    /// it in one database per user): no write through a client the server
    /// dropped, nor once the process is exiting (``ProcessExit``), so exit
    /// paths never wait on the server or on the database's lock.
    var mayWriteMetadata: Bool { !isShutDown && !ProcessExit.isExiting }

    /// Every property on the server whose key starts with `prefix`, values
    /// sanitised as by ``property(_:of:)``: one `jack_get_all_properties` call
    /// (none if the database did not answer in time).
    public func properties(withKeyPrefix prefix: String) -> [MetadataProperty] {
        allProperties().filter { $0.key.hasPrefix(prefix) }
    }

    /// Every property on the server, key and value sanitised, read with one
    /// `jack_get_all_properties` call on the database thread (empty if it did
    /// not answer in time: ``MetadataAccess``).
    func allProperties() -> [MetadataProperty] {
        onDatabase([]) { _ in
            var descriptions: UnsafeMutablePointer<jack_description_t>?
            let count = jack_get_all_properties(&descriptions)
            // jackd2 allocates the array (room for 8) before it counts, and hands
            // it out even when it found nothing: free it whatever the count
            // (LeakSanitizer found 256 bytes lost per scan of a server without
            // metadata).
            guard let descriptions else { return [] }
            defer { jack_free(descriptions) }
            guard count > 0 else { return [] }
            var found: [MetadataProperty] = []
            for index in 0..<Int(count) {
                let description = descriptions.advanced(by: index)
                defer { jack_free_description(description, 0) }
                guard let properties = description.pointee.properties else { continue }
                for property in UnsafeBufferPointer(start: properties, count: Int(description.pointee.property_cnt)) {
                    guard let key = property.key, let data = property.data else { continue }
                    found.append(MetadataProperty(subject: description.pointee.subject, key: MetadataLimits.sanitise(key),
                                                  value: MetadataLimits.sanitise(data)))
                }
            }
            return found
        }
    }

    /// The name of the client whose UUID is `uuid`, or nil when no such
    /// client is registered now.
    public func clientName(ofUUID uuid: UInt64) -> String? {
        var unparsed = [CChar](repeating: 0, count: 64)  // JACK_UUID_STRING_SIZE is 37
        jack_uuid_unparse(uuid, &unparsed)
        let text = unparsed
        let name: String?? = withRequest { handle in
            guard let raw = jack_get_client_name_by_uuid(handle, text) else { return nil }
            defer { jack_free(raw) }
            return String(cString: raw)
        }
        return name ?? nil
    }

    /// The other end of every connection of the port named `fullName`.
    public func connections(ofPort fullName: String) -> [String] {
        withHandle { handle -> [String] in
            guard let port = jack_port_by_name(handle, fullName),
                  let list = jack_port_get_all_connections(handle, port) else { return [] }
            defer { jack_free(UnsafeMutableRawPointer(mutating: list)) }
            return stringList(list)
        } ?? []
    }
}

/// Bounds for metadata read from other clients.
public enum MetadataLimits {
    /// The longest value accepted, in characters; longer values are cut.
    public static let maximumValueLength = 1024

    /// A display-safe copy of a C string written by another client.
    static func sanitise(_ raw: UnsafePointer<CChar>) -> String {
        // Bound the scan: a value without a terminator within the limit is cut.
        var length = 0
        while length < maximumValueLength * 4 && raw[length] != 0 { length += 1 }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: length)
        let text = String(decoding: bytes, as: UTF8.self)
        return String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }
            .prefix(maximumValueLength).map(Character.init))
    }
}

/// Copies a NULL-terminated `const char **` list that libjack returned.
func stringList(_ list: UnsafeMutablePointer<UnsafePointer<CChar>?>) -> [String] {
    var names: [String] = []
    var index = 0
    while let entry = list[index] {
        names.append(String(cString: entry))
        index += 1
    }
    return names
}
