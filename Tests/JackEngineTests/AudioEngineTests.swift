import JackEngine
import JackTestSupport
import Synchronization
import Testing

@Suite("The audio engine's endpoint model on a real server")
struct AudioEngineTests {
    @Test("the fixture server gives one render and one capture endpoint; vanished ports leave them not present")
    func presenceFollowsPorts() async throws {
        try await withJackServer { server in
            let engine = try AudioEngine.shared(serverName: server.name)
            let physical = engine.endpoints()
            #expect(physical.map(\.descriptor.flow) == [.render, .capture])
            #expect(physical.allSatisfy { $0.isPresent && $0.descriptor.channelCount == 2 })

            let events = Mutex<[AudioEngine.Event]>([])
            let token = engine.addListener { event in events.withLock { $0.append(event) } }
            defer { engine.removeListener(token) }

            // Another client publishes a physical-like group, then takes it away, then back.
            let device = try JackClient(name: "usbcard", serverName: server.name)
            defer { device.close() }
            let ports = try (1...2).map { try device.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            try device.activate()
            engine.synchronize()
            let id = EndpointDiscovery.endpointID(flow: .render, clientName: "usbcard", group: nil)
            #expect(engine.endpoint(id: id)?.isPresent == true)
            ports.forEach(device.unregister)
            engine.synchronize()
            #expect(engine.endpoint(id: id)?.isPresent == false)
            _ = try (1...2).map { try device.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            engine.synchronize()
            #expect(engine.endpoint(id: id)?.isPresent == true)

            let seen = events.withLock { $0 }.filter {
                switch $0 {
                case .endpointAdded, .endpointPresenceChanged: true
                default: false
                }
            }
            #expect(seen == [
                .endpointAdded(id: id),
                .endpointPresenceChanged(id: id, isPresent: false),
                .endpointPresenceChanged(id: id, isPresent: true),
            ])
        }
    }

    @Test("a listener may call back into the engine without deadlock")
    func reentrantListener() async throws {
        try await withJackServer { server in
            let engine = try AudioEngine.shared(serverName: server.name)
            let seenCount = Mutex<Int?>(nil)
            let token = engine.addListener { [engine] event in
                if case .endpointAdded = event {
                    let count = engine.endpoints(includeVirtual: true).count
                    engine.removeListener(engine.addListener { _ in })
                    seenCount.withLock { $0 = count }
                }
            }
            defer { engine.removeListener(token) }
            let app = try JackClient(name: "synth", serverName: server.name)
            defer { app.close() }
            _ = try app.registerPort("out", direction: .output)
            engine.synchronize()
            #expect(seenCount.withLock { $0 } == 3)
        }
    }
}
