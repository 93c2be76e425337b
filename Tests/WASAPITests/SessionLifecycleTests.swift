import Foundation
import JackEngine
import JackTestSupport
import SimulatedEngine
import Testing
import WASAPI

/// Session state, identity, notifications and disconnect reasons, in one
/// process: on the simulated engine, and once against a real jackd.
@Suite("Session lifecycle", .timeLimit(.minutes(15)))
struct SessionLifecycleTests {
    @Test("created, inactive, active, inactive, expired; listed by the enumerator; disconnected by exclusive use and by server shutdown (simulated engine)")
    func lifecycleSimulated() async throws {
        let sim = SimulatedAudioEngine()
        try await Self.run(enumerator: MMDeviceEnumerator(engine: sim), stopServer: sim.shutDown)
    }

    @Test("created, inactive, active, inactive, expired; listed by the enumerator; disconnected by exclusive use and by server shutdown (jackd)")
    func lifecycle() async throws {
        try await withJackServer { server in
            try await Self.run(enumerator: MMDeviceEnumerator(serverName: server.name), stopServer: server.stop)
        }
    }

    static func run(enumerator: MMDeviceEnumerator, stopServer: () -> Void) async throws {
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        let manager = device.activateSessionManager()
        let created = RecordingSessionNotification()
        manager.registerSessionNotification(created)

        let guid = UUID()
        var client: AudioClient? = try device.activateAudioClient()
        try client!.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 0,
                               format: try client!.getMixFormat(), sessionGUID: guid)
        var control: AudioSessionControl! = try client!.getSessionControl()
        let events = RecordingSessionEvents()
        try control.registerAudioSessionNotification(events)
        #expect(throws: AudioError.self) { try control.registerAudioSessionNotification(events) }
        #expect(try control.getState() == .inactive)
        #expect(try control.getSessionGUID() == guid && control.getProcessId() == getpid())
        #expect(try control.getSessionIdentifier().hasPrefix(device.id + "|") && control.getSessionIdentifier().hasSuffix("%b{" + guid.uuidString + "}"))
        #expect(try control.getSessionInstanceIdentifier() == control.getSessionIdentifier() + "|1%b\(getpid())")
        #expect(try control.isSystemSoundsSession() == false && control.channelAudioVolume().getChannelCount() == 2)
        for _ in 0..<500 where !created.recorded.contains(guid) { try await pause(for: .milliseconds(10)) }
        #expect(created.recorded.contains(guid), "session created notification")
        #expect(try manager.getSessionEnumerator().sessions.contains { try $0.getSessionGUID() == guid })

        // Bad input: typed errors, nothing changed.
        do {
            let volume = control.simpleAudioVolume()
            #expect(throws: AudioError.self) { try volume.setMasterVolume(1.01) }
            #expect(throws: AudioError.self) { try volume.setMasterVolume(.nan) }
            #expect(throws: AudioError.self) { try control.channelAudioVolume().setAllVolumes([0.5]) }
            #expect(throws: AudioError.self) { try control.setDisplayName(String(repeating: "n", count: 201)) }
            #expect(try volume.getMasterVolume() == 1 && volume.getMute() == false)
        }

        let context = UUID()
        try control.setDisplayName("Lifecycle", context: context)
        try client!.start()
        try client!.stop()
        client = nil
        // A held session control keeps its session: inactive, not expired (native Windows).
        var expected: [RecordingSessionEvents.Call] = [.displayName("Lifecycle", context: context), .state(.active), .state(.inactive)]
        for _ in 0..<500 where events.recorded != expected { try await pause(for: .milliseconds(10)) }
        #expect(events.recorded == expected)
        #expect(try control.getState() == .inactive)
        // Once the last session object goes, the session expires.
        control = nil
        expected.append(.state(.expired))
        for _ in 0..<500 where events.recorded != expected { try await pause(for: .milliseconds(10)) }
        #expect(events.recorded == expected)

        // An exclusive stream disconnects the other sessions on the endpoint.
        let shared = try device.activateAudioClient()
        try shared.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 0, format: try shared.getMixFormat(),
                              sessionGUID: UUID())
        let sharedEvents = RecordingSessionEvents()
        try shared.getSessionControl().registerAudioSessionNotification(sharedEvents)
        let exclusive = try device.activateAudioClient()
        try exclusive.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 13_333, format: try exclusive.getMixFormat())
        #expect(await sharedEvents.wait(for: .disconnected(.exclusiveModeOverride)), "\(sharedEvents.recorded)")

        // The server going away disconnects every session.
        stopServer()
        #expect(await sharedEvents.wait(for: .disconnected(.serverShutdown)), "\(sharedEvents.recorded)")
        _ = exclusive
    }
}
