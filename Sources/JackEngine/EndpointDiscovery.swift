import AudioGraph

/// Groups the graph's ports into endpoints. Pure: no JACK calls, so the rules
/// are tested without a server.
///
/// - Physical input ports (JACK's playback ports) form render endpoints,
///   physical output ports (capture ports) capture endpoints.
/// - So do the ports of a client whose every port is terminal: a bridge to
///   another machine or device (JackTrip's `send_N` / `receive_N`), whose
///   audio ends or starts outside this graph like a sound card's.
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
        let bridges = Set(ports.map(\.clientName)).subtracting(
            ports.filter { !$0.flags.contains(.isTerminal) }.map(\.clientName))
        for port in ports where !excludingClients.contains(port.clientName) {
            let physical = port.flags.contains(.isPhysical) || bridges.contains(port.clientName)
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
}
