import AudioGraph
import JackEngine
import JackTestSupport
import Testing

@Suite("JackAudioEngine: the AudioEngine seam on a real server", .timeLimit(.minutes(15)))
struct AudioEngineTests {
    @Test("the fixture server gives one render and one capture endpoint; another client's physical ports come and go in the scan, with graph changes queued")
    func scanFollowsPorts() async throws {
        try await withJackServer { server in
            let engine = try JackAudioEngine.shared(serverName: server.name)
            let physical = engine.scanEndpoints().filter { !$0.isVirtual }
            #expect(physical.map(\.flow) == [.render, .capture])
            #expect(physical.allSatisfy { $0.channelCount == 2 && $0.clientName == "system" })
            #expect(engine.implementation.hasPrefix("jackd2 "))
            _ = engine.changes.take()

            let device = try JackClient(name: "usbcard", serverName: server.name)
            defer { device.close() }
            let ports = try (1...2).map { try device.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            try device.activate()
            let id = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
            #expect(engine.scanEndpoints().first { $0.id == id }?.ports == ["usbcard:playback_1", "usbcard:playback_2"])
            ports.forEach(device.unregister)
            #expect(engine.scanEndpoints().allSatisfy { $0.id != id })
            try await waitUntil { engine.changes.take().contains { if case .port(_, false) = $0 { true } else { false } } }
        }
    }

    @Test("the engine's own stream ports are never an endpoint, and its own subject is its client's")
    func ownPortsExcluded() async throws {
        try await withJackServer { server in
            let engine = try JackAudioEngine.shared(serverName: server.name)
            let port = try engine.registerPort("probe.out_1", direction: .output, prettyName: "probe out")
            defer { engine.unregister(port) }
            #expect(engine.scanEndpoints().allSatisfy { $0.clientName != engine.clientName })
            let subject = try #require(engine.ownSubject)
            #expect(engine.isClientAlive(subject: subject))
            #expect(engine.subject(ofPort: port.name) != nil)
        }
    }
}
