import AudioGraph
import CJack

/// What the control thread knows about one audio port of the graph.
///
/// Plain value; any thread. Text from metadata is sanitised (see ``MetadataLimits``).
public struct PortInfo: Sendable, Hashable {
    /// Full name, "client:port".
    public var name: String
    /// The owning client's name (the part before the first colon).
    public var clientName: String
    /// The port's name within its client.
    public var shortName: String
    public var flags: PortFlags
    /// The port's metadata UUID.
    public var uuid: UInt64
    /// `http://jackaudio.org/metadata/pretty-name`, if set.
    public var prettyName: String?
    /// `http://jackaudio.org/metadata/port-group`, if set.
    public var portGroup: String?
    /// `http://jackaudio.org/metadata/order`, if set and a whole number.
    public var order: Int?

    public init(name: String, flags: PortFlags, uuid: UInt64 = 0, prettyName: String? = nil,
                portGroup: String? = nil, order: Int? = nil) {
        self.name = name
        let colon = name.firstIndex(of: ":") ?? name.endIndex
        self.clientName = String(name[..<colon])
        self.shortName = colon < name.endIndex ? String(name[name.index(after: colon)...]) : ""
        self.flags = flags
        self.uuid = uuid
        self.prettyName = prettyName
        self.portGroup = portGroup
        self.order = order
    }
}

/// Well-known JACK metadata keys.
public enum MetadataKey {
    public static let prettyName = "http://jackaudio.org/metadata/pretty-name"
    public static let portGroup = "http://jackaudio.org/metadata/port-group"
    public static let order = "http://jackaudio.org/metadata/order"
}

extension JackClient {
    /// Every audio port of the graph with its flags and metadata, in JACK's order.
    ///
    /// Control path. The metadata of the whole graph is read in one
    /// `jack_get_all_properties` call rather than one lookup per port and key,
    /// which keeps a rescan of a large graph to a few milliseconds.
    public func scanPorts() -> [PortInfo] {
        // Read before the handle's lock is taken: the database may be slow.
        let metadata = allPortMetadata()
        return withHandle { handle -> [PortInfo] in
            guard let list = jack_get_ports(handle, nil, JACK_DEFAULT_AUDIO_TYPE, 0) else { return [] }
            defer { jack_free(UnsafeMutableRawPointer(mutating: list)) }
            return stringList(list).compactMap { name in
                // A port may vanish between the listing and the lookup: skip it.
                guard let port = jack_port_by_name(handle, name) else { return nil }
                let uuid = jack_port_uuid(port)
                let values = metadata[uuid] ?? [:]
                return PortInfo(
                    name: name, flags: PortFlags(rawValue: UInt(bitPattern: Int(jack_port_flags(port)))),
                    uuid: uuid,
                    prettyName: values[MetadataKey.prettyName],
                    portGroup: values[MetadataKey.portGroup],
                    order: values[MetadataKey.order].flatMap { Int($0) })
            }
        } ?? []
    }

    /// The three keys ``scanPorts()`` uses, for every subject that has any,
    /// sanitised (other clients' metadata is untrusted).
    private func allPortMetadata() -> [UInt64: [String: String]] {
        let wanted: Set<String> = [MetadataKey.prettyName, MetadataKey.portGroup, MetadataKey.order]
        var result: [UInt64: [String: String]] = [:]
        for property in allProperties() where wanted.contains(property.key) {
            result[property.subject, default: [:]][property.key] = property.value
        }
        return result
    }
}
