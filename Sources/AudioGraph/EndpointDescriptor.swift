/// An endpoint as an engine finds it in its graph: a group of terminal ports.
///
/// Plain value; any thread.
public struct EndpointDescriptor: Sendable, Hashable {
    /// Data flow, as `EDataFlow` has it.
    public enum Flow: Sendable, Hashable {
        /// Audio goes to the endpoint's ports (the graph's input ports).
        case render
        /// Audio comes from the endpoint's ports (the graph's output ports).
        case capture
    }

    /// The stable id: the same flow, client and group give the same id after
    /// a restart (see ``stableID(flow:clientName:group:)``).
    public let id: String
    public var flow: Flow
    /// The client that owns the ports.
    public var clientName: String
    /// The port group (from metadata), or nil for the client's ungrouped ports.
    public var group: String?
    /// Full port names, in channel order.
    public var ports: [String]
    /// True for another application's ports (a "virtual cable"), false for
    /// physical (driver) ports.
    public var isVirtual: Bool
    /// "Playback (system)": what a device list shows.
    public var friendlyName: String
    /// "Playback": the endpoint's own name without the client.
    public var description: String

    public var channelCount: Int { ports.count }

    public init(flow: Flow, clientName: String, group: String?, ports: [String], isVirtual: Bool,
                friendlyName: String, description: String) {
        self.id = Self.stableID(flow: flow, clientName: clientName, group: group)
        self.flow = flow
        self.clientName = clientName
        self.group = group
        self.ports = ports
        self.isVirtual = isVirtual
        self.friendlyName = friendlyName
        self.description = description
    }

    /// The id of the endpoint of `flow` made of `clientName`'s ports in
    /// `group`, in the shape of a Windows endpoint id
    /// (`{0.0.F.00000000}.{GUID}`, F = 0 render, 1 capture), the GUID a hash of
    /// flow, client and group, so that the same ports get the same id across
    /// server restarts.
    public static func stableID(flow: Flow, clientName: String, group: String?) -> String {
        let flowDigit = flow == .render ? "0" : "1"
        let key = "wasapi-jack|\(flowDigit)|\(clientName)|\(group ?? "")"
        let high = fnv1a64(key, seed: 0xcbf2_9ce4_8422_2325)
        let low = fnv1a64(key, seed: 0x8422_2325_cbf2_9ce4)
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let guid = hex(high >> 32, 8) + "-" + hex((high >> 16) & 0xFFFF, 4) + "-"
            + hex(high & 0xFFFF, 4) + "-" + hex(low >> 48, 4) + "-" + hex(low & 0xFFFF_FFFF_FFFF, 12)
        return "{0.0.\(flowDigit).00000000}.{\(guid)}"
    }

    /// FNV-1a, 64 bits, with a chosen offset basis.
    private static func fnv1a64(_ text: String, seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
