/// An endpoint as discovered in the graph: a group of terminal ports.
///
/// Plain value; any thread.
public struct EndpointDescriptor: Sendable, Hashable {
    /// Data flow, as `EDataFlow` has it.
    public enum Flow: Sendable, Hashable {
        /// Audio goes to the endpoint's ports (JACK input ports).
        case render
        /// Audio comes from the endpoint's ports (JACK output ports).
        case capture
    }

    /// The stable id (see ``EndpointDiscovery/endpointID(flow:clientName:group:)``).
    public var id: String
    public var flow: Flow
    /// The JACK client that owns the ports.
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
}

/// Groups the graph's ports into endpoints. Pure: no JACK calls, so the rules
/// are tested without a server.
///
/// - Physical input ports (JACK's playback ports) form render endpoints,
///   physical output ports (capture ports) capture endpoints.
/// - Ports are grouped per owning client, and within a client per
///   `port-group` metadata where the client publishes it.
/// - With `includeVirtual`, other applications' non-physical ports form
///   virtual endpoints the same way (their inputs: render; their outputs:
///   capture), except the ports of `excludingClients` (our own streams).
/// - Channel order: the `order` metadata where every port of the group has it,
///   otherwise natural order of the port names ("playback_2" before "playback_10").
public enum EndpointDiscovery {
    public static func discover(ports: [PortInfo], includeVirtual: Bool = false,
                                excludingClients: Set<String> = []) -> [EndpointDescriptor] {
        var groups: [GroupKey: [PortInfo]] = [:]
        var firstSeen: [GroupKey] = []
        for port in ports where !excludingClients.contains(port.clientName) {
            let physical = port.flags.contains(.isPhysical)
            guard physical || includeVirtual else { continue }
            let flow: EndpointDescriptor.Flow
            if port.flags.contains(.isInput) { flow = .render }
            else if port.flags.contains(.isOutput) { flow = .capture }
            else { continue }
            let key = GroupKey(flow: flow, clientName: port.clientName, group: port.portGroup, isVirtual: !physical)
            if groups[key] == nil { firstSeen.append(key) }
            groups[key, default: []].append(port)
        }
        // Physical endpoints first, then virtual; render before capture; then by client.
        let ordered = firstSeen.sorted { lhs, rhs in
            (lhs.isVirtual ? 1 : 0, lhs.flow == .render ? 0 : 1) < (rhs.isVirtual ? 1 : 0, rhs.flow == .render ? 0 : 1)
        }
        return ordered.map { key in descriptor(for: key, ports: groups[key]!) }
    }

    /// A Windows-shaped endpoint id, `{0.0.F.00000000}.{UUID}` (F: 0 render,
    /// 1 capture), whose UUID is a hash of the flow, client name and group: the
    /// same ports get the same id after a restart of the server or the process.
    public static func endpointID(flow: EndpointDescriptor.Flow, clientName: String, group: String?) -> String {
        let flowDigit = flow == .render ? "0" : "1"
        let key = "wasapi-jack|\(flowDigit)|\(clientName)|\(group ?? "")"
        let high = fnv1a64(key, seed: 0xcbf2_9ce4_8422_2325)
        let low = fnv1a64(key, seed: 0x8422_2325_cbf2_9ce4)
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let uuid = hex(high >> 32, 8) + "-" + hex((high >> 16) & 0xFFFF, 4) + "-"
            + hex(high & 0xFFFF, 4) + "-" + hex(low >> 48, 4) + "-" + hex(low & 0xFFFF_FFFF_FFFF, 12)
        return "{0.0.\(flowDigit).00000000}.{\(uuid)}"
    }

    private struct GroupKey: Hashable {
        var flow: EndpointDescriptor.Flow
        var clientName: String
        var group: String?
        var isVirtual: Bool
    }

    private static func descriptor(for key: GroupKey, ports: [PortInfo]) -> EndpointDescriptor {
        let ordered: [PortInfo]
        if ports.allSatisfy({ $0.order != nil }) {
            ordered = ports.sorted { ($0.order!, $0.name) < ($1.order!, $1.name) }
        } else {
            ordered = ports.sorted { naturalLess($0.shortName, $1.shortName) }
        }
        let role = key.flow == .render ? "Playback" : "Capture"
        let description = key.group ?? role
        return EndpointDescriptor(
            id: endpointID(flow: key.flow, clientName: key.clientName, group: key.group),
            flow: key.flow, clientName: key.clientName, group: key.group,
            ports: ordered.map(\.name), isVirtual: key.isVirtual,
            friendlyName: "\(description) (\(key.clientName))", description: description)
    }

    /// Compares names with embedded numbers by value: "out_2" < "out_10".
    /// Works on the strings' UTF-8 bytes in place (ASCII digits), with no
    /// allocation: a rescan sorts every endpoint's ports with it.
    static func naturalLess(_ lhs: String, _ rhs: String) -> Bool {
        var left = lhs, right = rhs
        left.makeContiguousUTF8()
        right.makeContiguousUTF8()
        return left.utf8.withContiguousStorageIfAvailable { l in
            right.utf8.withContiguousStorageIfAvailable { r in naturalLess(l, r) }
        }!!
    }

    private static func naturalLess(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        /// The end of the digit run starting at `start`, and where its significant digits begin.
        func digitRun(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (end: Int, significant: Int) {
            var end = start
            while end < bytes.count && isDigit(bytes[end]) { end += 1 }
            var significant = start
            while significant < end - 1 && bytes[significant] == 0x30 { significant += 1 }
            return (end, significant)
        }
        var i = 0, j = 0
        while i < left.count && j < right.count {
            if isDigit(left[i]) && isDigit(right[j]) {
                let l = digitRun(left, from: i), r = digitRun(right, from: j)
                let leftValue = left[l.significant..<l.end], rightValue = right[r.significant..<r.end]
                if leftValue.count != rightValue.count { return leftValue.count < rightValue.count }
                if !leftValue.elementsEqual(rightValue) { return leftValue.lexicographicallyPrecedes(rightValue) }
                i = l.end
                j = r.end
            } else {
                if left[i] != right[j] { return left[i] < right[j] }
                i += 1
                j += 1
            }
        }
        return left.count - i < right.count - j
    }

    private static func fnv1a64(_ text: String, seed: UInt64) -> UInt64 {
        var hash = seed
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
