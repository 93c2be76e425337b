import AudioGraph
import JackEngine
import Testing

@Suite("Endpoint discovery rules (no server)", .timeLimit(.minutes(15)))
struct EndpointDiscoveryTests {
    static let dummyPorts = [
        PortInfo(name: "system:capture_1", flags: [.isOutput, .isPhysical, .isTerminal]),
        PortInfo(name: "system:capture_2", flags: [.isOutput, .isPhysical, .isTerminal]),
        PortInfo(name: "system:playback_1", flags: [.isInput, .isPhysical, .isTerminal]),
        PortInfo(name: "system:playback_2", flags: [.isInput, .isPhysical, .isTerminal]),
    ]

    @Test("the dummy backend's ports give one render and one capture endpoint of two channels")
    func dummyBackend() {
        let endpoints = EndpointDiscovery.discover(ports: Self.dummyPorts)
        #expect(endpoints.map(\.flow) == [.render, .capture])
        #expect(endpoints[0].ports == ["system:playback_1", "system:playback_2"])
        #expect(endpoints[1].ports == ["system:capture_1", "system:capture_2"])
        #expect(endpoints.allSatisfy { !$0.isVirtual && $0.channelCount == 2 })
        #expect(endpoints[0].friendlyName == "Playback (system)")
    }

    @Test("ids are Windows-shaped, differ by flow, and depend only on client and group")
    func stableIDs() {
        let render = EndpointDescriptor.stableID(flow: .render, clientName: "system", group: nil)
        let capture = EndpointDescriptor.stableID(flow: .capture, clientName: "system", group: nil)
        #expect(render.hasPrefix("{0.0.0.00000000}.{"))
        #expect(capture.hasPrefix("{0.0.1.00000000}.{"))
        #expect(render.count == "{0.0.0.00000000}.{00000000-0000-0000-0000-000000000000}".count)
        #expect(render != capture)
        #expect(render == EndpointDescriptor.stableID(flow: .render, clientName: "system", group: nil))
        #expect(render != EndpointDescriptor.stableID(flow: .render, clientName: "system", group: "HDMI"))
        // Port UUIDs change on every server start; the id must not depend on them.
        let renumbered = Self.dummyPorts.map { port in
            var copy = port
            copy.uuid = port.uuid + 1000
            return copy
        }
        #expect(EndpointDiscovery.discover(ports: renumbered).map(\.id)
                == EndpointDiscovery.discover(ports: Self.dummyPorts).map(\.id))
    }

    @Test("port-group metadata splits one client's ports into endpoints")
    func portGroups() {
        let ports = [
            PortInfo(name: "card:out_1", flags: [.isInput, .isPhysical], portGroup: "Speakers"),
            PortInfo(name: "card:out_2", flags: [.isInput, .isPhysical], portGroup: "Speakers"),
            PortInfo(name: "card:out_3", flags: [.isInput, .isPhysical], portGroup: "Headphones"),
            PortInfo(name: "card:out_4", flags: [.isInput, .isPhysical], portGroup: "Headphones"),
        ]
        let endpoints = EndpointDiscovery.discover(ports: ports)
        #expect(endpoints.map(\.description) == ["Speakers", "Headphones"])
        #expect(endpoints.map(\.ports) == [["card:out_1", "card:out_2"], ["card:out_3", "card:out_4"]])
        #expect(endpoints[1].friendlyName == "Headphones (card)")
    }

    @Test("channel order: numbers by value, or the order metadata when every port has it")
    func channelOrder() {
        let numbered = (1...12).reversed().map {
            PortInfo(name: "system:playback_\($0)", flags: [.isInput, .isPhysical])
        }
        #expect(EndpointDiscovery.discover(ports: numbered)[0].ports == (1...12).map { "system:playback_\($0)" })
        let mixed = ["dev:x_10", "dev:x_09b", "dev:x_1", "dev:x_9"].map { PortInfo(name: $0, flags: [.isInput, .isPhysical]) }
        #expect(EndpointDiscovery.discover(ports: mixed)[0].ports == ["dev:x_1", "dev:x_9", "dev:x_09b", "dev:x_10"])
        let ordered = [
            PortInfo(name: "dev:a", flags: [.isInput, .isPhysical], order: 2),
            PortInfo(name: "dev:b", flags: [.isInput, .isPhysical], order: 1),
        ]
        #expect(EndpointDiscovery.discover(ports: ordered)[0].ports == ["dev:b", "dev:a"])
    }

    @Test("other applications' ports are virtual endpoints only on request, never our own")
    func virtualEndpoints() {
        let ports = Self.dummyPorts + [
            PortInfo(name: "synth:out_L", flags: [.isOutput]),
            PortInfo(name: "synth:out_R", flags: [.isOutput]),
            PortInfo(name: "recorder:in_1", flags: [.isInput]),
            PortInfo(name: "me:stream_out", flags: [.isOutput]),
        ]
        #expect(EndpointDiscovery.discover(ports: ports).count == 2)
        let all = EndpointDiscovery.discover(ports: ports, includeVirtual: true, excludingClients: ["me"])
        #expect(all.count == 4)
        let virtual = all.filter(\.isVirtual)
        #expect(Set(virtual.map(\.clientName)) == ["synth", "recorder"])
        #expect(virtual.first { $0.clientName == "synth" }?.flow == .capture)
        #expect(virtual.first { $0.clientName == "recorder" }?.flow == .render)
    }

    @Test("a bridge to another machine (every port terminal, as JackTrip's) is an endpoint pair like a sound card; a half-terminal client is not")
    func bridgeEndpoints() {
        let ports = Self.dummyPorts + [
            PortInfo(name: "jacktrip:send_1", flags: [.isInput, .isTerminal]),
            PortInfo(name: "jacktrip:send_2", flags: [.isInput, .isTerminal]),
            PortInfo(name: "jacktrip:receive_1", flags: [.isOutput, .isTerminal]),
            PortInfo(name: "jacktrip:receive_2", flags: [.isOutput, .isTerminal]),
            PortInfo(name: "fx:in", flags: [.isInput]),
            PortInfo(name: "fx:out", flags: [.isOutput, .isTerminal]),
        ]
        let endpoints = EndpointDiscovery.discover(ports: ports)
        let bridge = endpoints.filter { $0.clientName == "jacktrip" }
        #expect(bridge.map(\.flow) == [.render, .capture])
        #expect(bridge.allSatisfy { !$0.isVirtual && $0.channelCount == 2 })
        #expect(bridge.first?.ports == ["jacktrip:send_1", "jacktrip:send_2"])
        #expect(!endpoints.contains { $0.clientName == "fx" })
    }
}
