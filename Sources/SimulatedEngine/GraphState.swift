import AudioGraph
import Realtime

/// The simulated graph's state: ports with their buffers, connections,
/// installed slots, metadata and the virtual clock. Lives inside
/// ``SimulatedAudioEngine``'s lock; every member runs under it.
struct GraphState {
    /// One port and its buffer (``SimulatedAudioEngine/maximumPeriod`` samples).
    struct Port {
        let id: UInt32
        let name: String
        let client: String
        let isOutput: Bool
        let isPhysical: Bool
        let subject: UInt64
        let buffer: UnsafeMutablePointer<Float>
    }

    var sampleRate: Int
    var period: Int
    /// Frames run so far: the next cycle's first frame.
    var frameTime: UInt64 = 0
    /// Time added by ``SimulatedAudioEngine/advanceClock(nanoseconds:)``.
    var skippedNanoseconds: UInt64 = 0
    /// Virtual time of the next cycle's start: frame `n` starts at
    /// ceil(n / rate) seconds after a 1 s origin, so cycle boundaries are
    /// exact to the nanosecond and never early.
    var nanoseconds: UInt64 { time(ofFrame: frameTime) }

    /// When frame `frame` starts on the virtual clock.
    func time(ofFrame frame: UInt64) -> UInt64 {
        let rate = UInt64(max(sampleRate, 1))
        return 1_000_000_000 + skippedNanoseconds + (frame * 1_000_000_000 + rate - 1) / rate
    }
    var cycles: UInt64 = 0
    /// Ports by full name, and their registration order.
    var ports: [String: Port] = [:]
    var portOrder: [String] = []
    /// (source, destination) full names.
    var connections: Set<[String]> = []
    /// Subject ids of the clients in the graph.
    var clientSubjects: [String: UInt64] = [:]
    var properties: [UInt64: [String: String]] = [:]
    var captureSignals: [String: @Sendable (Int, UInt64) -> Float] = [:]
    var rendered: [String: [Float]] = [:]
    var slots: [Int: RealtimeBox<StreamSlot>] = [:]
    var callbacks: [ObjectIdentifier: SimulatedCallback] = [:]
    private var nextSlot = 0
    private var nextID: UInt64 = 1

    init(sampleRate: Int, period: Int) {
        self.sampleRate = sampleRate
        self.period = period
    }

    mutating func releaseAll() {
        slots = [:]
        callbacks = [:]
        for port in ports.values { port.buffer.deallocate() }
        for buffer in retired { buffer.deallocate() }
        ports = [:]
        retired = []
    }

    // MARK: Clients and ports

    mutating func clientSubject(_ client: String) -> UInt64 {
        if let subject = clientSubjects[client] { return subject }
        let subject = takeID()
        clientSubjects[client] = subject
        return subject
    }

    /// Registers `channels` physical ports of `client`: playback inputs for a
    /// render endpoint, capture outputs for a capture endpoint.
    @discardableResult
    mutating func addClient(_ client: String, flow: EndpointDescriptor.Flow, channels: Int,
                            physical: Bool) -> [GraphChange] {
        var changes: [GraphChange] = [.client(name: client, registered: true)]
        _ = clientSubject(client)
        for channel in 1...max(channels, 1) {
            let name = flow == .render ? "\(client):playback_\(channel)" : "\(client):capture_\(channel)"
            if let port = registerPort(name, isOutput: flow == .capture, physical: physical) {
                changes.append(.port(id: port.id, registered: true))
            }
        }
        return changes
    }

    mutating func removeClient(_ client: String) -> [GraphChange] {
        var changes: [GraphChange] = []
        for name in portOrder where ports[name]?.client == client {
            if let id = unregisterPort(name) { changes.append(.port(id: id, registered: false)) }
        }
        clientSubjects[client] = nil
        changes.append(.client(name: client, registered: false))
        return changes
    }

    mutating func registerPort(_ name: String, isOutput: Bool, physical: Bool) -> Port? {
        guard ports[name] == nil else { return nil }
        let client = String(name[..<(name.firstIndex(of: ":") ?? name.endIndex)])
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: SimulatedAudioEngine.maximumPeriod)
        buffer.initialize(repeating: 0, count: SimulatedAudioEngine.maximumPeriod)
        let port = Port(id: UInt32(truncatingIfNeeded: takeID()), name: name, client: client, isOutput: isOutput,
                        isPhysical: physical, subject: takeID(), buffer: buffer)
        ports[name] = port
        portOrder.append(name)
        return port
    }

    /// Unregisters a port; its buffer is kept until the engine goes, since a
    /// slot installed over it may still be bound to it.
    mutating func unregisterPort(_ name: String) -> UInt32? {
        guard let port = ports.removeValue(forKey: name) else { return nil }
        portOrder.removeAll { $0 == name }
        connections = connections.filter { !$0.contains(name) }
        properties[port.subject] = nil
        retired.append(port.buffer)
        return port.id
    }

    private var retired: [UnsafeMutablePointer<Float>] = []

    mutating func connect(_ source: String, _ destination: String) -> (UInt32, UInt32)? {
        guard let from = ports[source], let to = ports[destination], from.isOutput, !to.isOutput else { return nil }
        connections.insert([source, destination])
        return (from.id, to.id)
    }

    mutating func disconnect(_ source: String, _ destination: String) -> (UInt32, UInt32)? {
        guard let from = ports[source], let to = ports[destination],
              connections.remove([source, destination]) != nil else { return nil }
        return (from.id, to.id)
    }

    func connections(of name: String) -> [String] {
        connections.compactMap { pair in
            pair[0] == name ? pair[1] : pair[1] == name ? pair[0] : nil
        }.sorted()
    }

    /// Physical port groups of every client but `excluded`, render first.
    func endpoints(excluding excluded: String) -> [EndpointDescriptor] {
        var groups: [(client: String, flow: EndpointDescriptor.Flow, ports: [String])] = []
        for name in portOrder {
            guard let port = ports[name], port.isPhysical, port.client != excluded else { continue }
            let flow: EndpointDescriptor.Flow = port.isOutput ? .capture : .render
            if let index = groups.firstIndex(where: { $0.client == port.client && $0.flow == flow }) {
                groups[index].ports.append(name)
            } else {
                groups.append((port.client, flow, [name]))
            }
        }
        return groups.sorted { ($0.flow == .render ? 0 : 1) < ($1.flow == .render ? 0 : 1) }.map { group in
            let role = group.flow == .render ? "Playback" : "Capture"
            return EndpointDescriptor(flow: group.flow, clientName: group.client, group: nil, ports: group.ports,
                                      isVirtual: false, friendlyName: "\(role) (\(group.client))", description: role)
        }
    }

    // MARK: Slots

    mutating func install(_ slot: RealtimeBox<StreamSlot>) -> InstalledSlot {
        nextSlot += 1
        slots[nextSlot] = slot
        return InstalledSlot(kind: .stream, index: nextSlot)
    }

    mutating func uninstall(_ token: InstalledSlot) {
        slots[token.index] = nil
    }

    // MARK: The cycle

    mutating func runCycle(publishingInto clock: borrowing SeqlockCell) {
        let frames = period
        // Sources first: capture ports produce their signal.
        for name in portOrder {
            guard let port = ports[name], port.isPhysical, port.isOutput else { continue }
            let channel = (Int(name.split(separator: "_").last ?? "1") ?? 1) - 1
            let signal = captureSignals[port.client]
            for frame in 0..<frames { port.buffer[frame] = signal?(channel, frameTime + UInt64(frame)) ?? 0 }
        }
        // Stream inputs receive the sum of their sources.
        for name in portOrder where ports[name].map({ !$0.isOutput && !$0.isPhysical }) == true {
            mix(into: name, frames: frames)
        }
        let start = nanoseconds, next = time(ofFrame: frameTime + UInt64(frames))
        CycleClock.publish(frameTime: UInt32(truncatingIfNeeded: frameTime), microseconds: start / 1000,
                           nextMicroseconds: next / 1000, periodMicroseconds: Float(next - start) / 1000,
                           frames: UInt32(frames), into: clock)
        for callback in callbacks.values { callback.process(frames: frames) }
        let ordered = slots.keys.sorted()
        for index in ordered {
            let slot = slots[index]!.pointer
            for channel in 0..<slot.pointee.portCount {
                slot.pointee.bindPlane(channel, to: slot.pointee.portHandle(channel).assumingMemoryBound(to: Float.self))
            }
            slot.pointee.process(frames: UInt32(frames), nanoseconds: start)
        }
        // Physical playback ports receive what streams sent them.
        for name in portOrder where ports[name].map({ !$0.isOutput && $0.isPhysical }) == true {
            mix(into: name, frames: frames)
            let samples = UnsafeBufferPointer(start: ports[name]!.buffer, count: frames)
            var kept = rendered[name] ?? []
            kept.append(contentsOf: samples)
            if kept.count > sampleRate * 10 { kept.removeFirst(kept.count - sampleRate * 10) }
            rendered[name] = kept
        }
        for index in ordered { slots[index]!.pointer.pointee.raiseDueEvent() }
        frameTime += UInt64(frames)
        cycles += 1
    }

    private func mix(into name: String, frames: Int) {
        guard let port = ports[name] else { return }
        port.buffer.update(repeating: 0, count: frames)
        for pair in connections where pair[1] == name {
            guard let source = ports[pair[0]] else { continue }
            for frame in 0..<frames { port.buffer[frame] += source.buffer[frame] }
        }
    }

    private mutating func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }
}
