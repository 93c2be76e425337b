import AudioGraph
import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

@Suite("Default endpoints shared by every process on the server", .timeLimit(.minutes(15)))
struct DefaultEndpointTests {
    @Test("a default set in another process is seen here, with a default-changed notification; and the reverse")
    func defaultSeenAcrossProcesses() async throws {
        let configDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: configDirectory) }
        try await withJackServer { server in
            // The environment is process-wide: set it only while this test holds the server gate.
            setenv("WASAPI_JACK_CONFIG_DIR", configDirectory, 1)
            defer { unsetenv("WASAPI_JACK_CONFIG_DIR") }
            let card = try JackClient(name: "usbcard", serverName: server.name)
            defer { card.close() }
            _ = try (1...2).map { try card.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let systemID = try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia).id
            let cardID = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
            #expect(systemID != cardID)
            let recorder = RecordingNotificationClient()
            enumerator.registerEndpointNotificationCallback(recorder)

            // Process B (the command-line tool) makes the card the multimedia default.
            let set = try runBuiltProduct(["set-default", "--server", server.name, cardID, "--role", "multimedia"],
                                          environment: ["WASAPI_JACK_CONFIG_DIR": configDirectory])
            #expect(set.status == 0, "\(set.standardError)")
            #expect(await recorder.wait { $0.contains(.defaultChanged(.render, .multimedia, cardID)) })
            #expect(try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia).id == cardID)
            #expect(try enumerator.getDefaultAudioEndpoint(.render, role: .console).id == systemID)

            // This process sets the console default; process B lists it.
            try enumerator.setDefaultAudioEndpoint(id: cardID, role: .console)
            let listed = try runBuiltProduct(["devices", "--server", server.name, "--json"],
                                             environment: ["WASAPI_JACK_CONFIG_DIR": configDirectory])
            #expect(listed.status == 0, "\(listed.standardError)")
            struct Row: Decodable { var id: String; var defaultRoles: [String] }
            let rows = try JSONDecoder().decode([Row].self, from: Data(listed.standardOutput.utf8))
            #expect(Set(rows.first { $0.id == cardID }?.defaultRoles ?? []) == ["console", "multimedia"])
            #expect(rows.first { $0.id == systemID }?.defaultRoles == ["communications"])
        }
    }

    @Test("a default whose ports vanish falls back to the first physical endpoint, and comes back with them")
    func defaultFallsBack() async throws {
        let configDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: configDirectory) }
        try await withJackServer { server in
            // The environment is process-wide: set it only while this test holds the server gate.
            setenv("WASAPI_JACK_CONFIG_DIR", configDirectory, 1)
            defer { unsetenv("WASAPI_JACK_CONFIG_DIR") }
            let card = try JackClient(name: "usbcard", serverName: server.name)
            defer { card.close() }
            let port = try card.registerPort("playback_1", direction: .input, flags: [.isPhysical])
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let systemID = try enumerator.getDefaultAudioEndpoint(.render, role: .console).id
            let cardID = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
            let recorder = RecordingNotificationClient()
            enumerator.registerEndpointNotificationCallback(recorder)
            try enumerator.setDefaultAudioEndpoint(id: cardID, role: .console)
            let toCard = RecordingNotificationClient.Call.defaultChanged(.render, .console, cardID)
            let toSystem = RecordingNotificationClient.Call.defaultChanged(.render, .console, systemID)
            #expect(await recorder.wait { $0.contains(toCard) })
            card.unregister(port)
            #expect(await recorder.wait { $0.contains(toSystem) })
            _ = try card.registerPort("playback_1", direction: .input, flags: [.isPhysical])
            #expect(await recorder.wait { $0.filter { $0 == toCard }.count == 2 })
            let defaults = recorder.recorded.filter { $0 == toCard || $0 == toSystem }
            #expect(defaults == [toCard, toSystem, toCard])
        }
    }
}
