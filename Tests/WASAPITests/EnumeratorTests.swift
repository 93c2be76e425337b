import AudioGraph
import JackEngine
import JackTestSupport
import PCM
import Testing
import WASAPI

@Suite("IMMDeviceEnumerator over a real JACK graph", .timeLimit(.minutes(15)))
struct EnumeratorTests {
    @Test("two capture and two playback ports give one capture and one render endpoint, 2 channels at 48 kHz")
    func dummyEndpoints() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let render = try enumerator.enumAudioEndpoints(.render, stateMask: .active)
            let capture = try enumerator.enumAudioEndpoints(.capture, stateMask: .active)
            #expect(render.count == 1)
            #expect(capture.count == 1)
            #expect(try enumerator.enumAudioEndpoints(.all, stateMask: .all).count == 2)
            for device in render + capture {
                let store = device.openPropertyStore()
                let blob = try #require(store[.audioEngineDeviceFormat])
                guard case let .blob(bytes) = blob else {
                    Issue.record("device format is not a blob")
                    continue
                }
                let format = try WaveFormat(bytes: bytes)
                #expect(format.channels == 2)
                #expect(format.samplesPerSecond == 48_000)
                #expect(format.sampleFormat == .float32)
                #expect(device.state == .active)
            }
            #expect(render[0].openPropertyStore()[.deviceFriendlyName]?.stringValue == "Playback (system)")
            #expect(render[0].openPropertyStore()[.jackPorts] == .strings(["system:playback_1", "system:playback_2"]))
            let defaultRender = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            #expect(defaultRender.id == render[0].id)
            #expect(try enumerator.getDevice(id: capture[0].id).dataFlow == .capture)
        }
    }

    @Test("ports that register, vanish and return raise added, not-present and active notifications in order")
    func notificationsInOrder() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let recorder = RecordingNotificationClient()
            enumerator.registerEndpointNotificationCallback(recorder)

            let card = try JackClient(name: "usbcard", serverName: server.name)
            defer { card.close() }
            var ports = try (1...2).map { try card.registerPort("capture_\($0)", direction: .output, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let id = EndpointDescriptor.stableID(flow: .capture, clientName: "usbcard", group: nil)
            #expect(await recorder.wait { $0.contains(.added(id)) })
            #expect(try enumerator.getDevice(id: id).state == .active)
            ports.forEach(card.unregister)
            #expect(await recorder.wait { $0.contains(.state(id, .notPresent)) })
            #expect(try enumerator.getDevice(id: id).state == .notPresent)
            #expect(try enumerator.enumAudioEndpoints(.capture, stateMask: .notPresent).map(\.id) == [id])
            ports = try (1...2).map { try card.registerPort("capture_\($0)", direction: .output, flags: [.isPhysical, .isTerminal]) }
            #expect(await recorder.wait { $0.contains(.state(id, .active)) })

            let lifecycle = recorder.recorded.filter {
                switch $0 {
                case .added, .state: true
                default: false
                }
            }
            #expect(lifecycle == [.added(id), .state(id, .notPresent), .state(id, .active)])
            try enumerator.unregisterEndpointNotificationCallback(recorder)
            #expect(throws: AudioError.self) { try enumerator.unregisterEndpointNotificationCallback(recorder) }
        }
    }

    @Test("a notification callback may call back into the enumerator")
    func reentrantCallback() async throws {
        final class Reentrant: MMNotificationClient {
            let enumerator: MMDeviceEnumerator
            let counts = RecordingNotificationClient()
            init(_ enumerator: MMDeviceEnumerator) { self.enumerator = enumerator }
            func onDeviceAdded(deviceID: String) {
                let state = (try? enumerator.getDevice(id: deviceID))?.state ?? .disabled
                counts.onDeviceStateChanged(deviceID: deviceID, newState: state)
            }
        }
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let client = Reentrant(enumerator)
            enumerator.registerEndpointNotificationCallback(client)
            defer { try? enumerator.unregisterEndpointNotificationCallback(client) }
            let card = try JackClient(name: "card2", serverName: server.name)
            defer { card.close() }
            _ = try card.registerPort("playback_1", direction: .input, flags: [.isPhysical])
            // jackd announces a client's ports to others once it is active.
            try card.activate()
            let id = EndpointDescriptor.stableID(flow: .render, clientName: "card2", group: nil)
            #expect(await client.counts.wait { $0 == [.state(id, .active)] }, "\(client.counts.recorded)")
        }
    }

    @Test("unknown ids, bad masks and eAll defaults are rejected with the HRESULT Windows uses")
    func errors() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let unknown = "{0.0.0.00000000}.{00000000-0000-0000-0000-000000000000}"
            let notFound = #expect(throws: AudioError.self) { try enumerator.getDevice(id: unknown) }
            #expect(notFound?.code == .E_NOTFOUND)
            #expect(notFound?.message.contains(unknown) == true)
            let badMask = #expect(throws: AudioError.self) { try enumerator.enumAudioEndpoints(.render, stateMask: []) }
            #expect(badMask?.code == .E_INVALIDARG)
            let badMask2 = #expect(throws: AudioError.self) {
                try enumerator.enumAudioEndpoints(.render, stateMask: DeviceState(rawValue: 0x10))
            }
            #expect(badMask2?.code == .E_INVALIDARG)
            let all = #expect(throws: AudioError.self) { try enumerator.getDefaultAudioEndpoint(.all, role: .console) }
            #expect(all?.code == .E_INVALIDARG)
            // The enumerator still works after every rejection.
            #expect(try enumerator.enumAudioEndpoints(.all, stateMask: .active).count == 2)
        }
    }

    @Test("no server: SERVICE_NOT_RUNNING naming the server tried and how to start one")
    func noServer() async throws {
        try await withJackLibrary {
            let name = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-absent")
            let error = #expect(throws: AudioError.self) { try MMDeviceEnumerator(serverName: name) }
            #expect(error?.code == .AUDCLNT_E_SERVICE_NOT_RUNNING)
            #expect(error?.message.contains(name) == true)
            #expect(error?.message.contains("jackd -n \(name)") == true)
        }
    }

    @Test("endpoint ids are the same after the server restarts")
    func idsSurviveRestart() async throws {
        let first = try await withJackServer { server in
            try MMDeviceEnumerator(serverName: server.name).enumAudioEndpoints(.all, stateMask: .all).map(\.id)
        }
        let second = try await withJackServer { server in
            try MMDeviceEnumerator(serverName: server.name).enumAudioEndpoints(.all, stateMask: .all).map(\.id)
        }
        #expect(first.count == 2)
        #expect(first == second)
    }
}
