import AudioGraph
import Foundation
import Realtime
import SimulatedEngine
import Synchronization
import JackTestSupport
import Testing
import WASAPI

/// What a stream, its session and the enumerator see when the server goes
/// away, on the simulated engine (the same on a real server:
/// `ServerShutdownTests`): as on Windows when an endpoint is removed under a
/// stream, the stream's event is raised so its waiting thread wakes, every
/// later call answers AUDCLNT_E_DEVICE_INVALIDATED, the session is
/// disconnected (ServerShutdown), and endpoints become not present.
@Suite("Server shutdown (simulated engine)", .timeLimit(.minutes(15)))
struct ServerShutdownStateTests {
    @Test("a waiting event-driven render thread wakes, its next call is DEVICE_INVALIDATED, the session disconnects, endpoints go not present")
    func shutdownWakesAndInvalidates() async throws {
        let sim = SimulatedAudioEngine()
        let enumerator = MMDeviceEnumerator(engine: sim)
        let notifications = RecordingNotificationClient()
        enumerator.registerEndpointNotificationCallback(notifications)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        let (client, render, event) = try startEventDrivenRender(on: device)
        let sessionEvents = RecordingSessionEvents()
        try client.getSessionControl().registerAudioSessionNotification(sessionEvents)
        sim.runCycles(1)
        #expect(event.wait(timeoutMilliseconds: 0) == .signaled, "the stream runs")

        // The application's buffer thread waits for its next event.
        let woke = Mutex<(RealtimeEvent.WaitResult, ContinuousClock.Instant)?>(nil)
        let waiting = Atomic<Bool>(false)
        let waiter = Thread {
            waiting.store(true, ordering: .releasing)
            // Long enough that a test task delayed by a busy machine still
            // finds the thread waiting when it shuts the server down.
            let result = event.wait(timeoutMilliseconds: 30_000)
            woke.withLock { $0 = (result, ContinuousClock.now) }
        }
        waiter.start()
        try await waitUntil(seconds: 2) { waiting.load(ordering: .acquiring) }
        let shutDownAt = ContinuousClock.now
        sim.shutDown()
        try await waitUntil(seconds: 31) { woke.withLock { $0 != nil } }
        let (result, wokeAt) = try #require(woke.withLock { $0 })
        #expect(result == .signaled, "the event is raised when the server goes")
        #expect(wokeAt - shutDownAt < .milliseconds(100), "woken within 100 ms of the shutdown (\(wokeAt - shutDownAt))")

        #expect(throws: AudioError.self) { try client.getCurrentPadding() }
        do { _ = try client.getCurrentPadding() } catch { #expect(error.code == .AUDCLNT_E_DEVICE_INVALIDATED) }
        do { _ = try render.getBuffer(frames: 64) } catch { #expect(error.code == .AUDCLNT_E_DEVICE_INVALIDATED) }
        #expect(await sessionEvents.wait(for: .disconnected(.serverShutdown)))
        #expect(await notifications.wait { calls in calls.contains(.state(device.id, .notPresent)) })
        #expect(device.state == .notPresent)
    }

    @Test("synchronize() called from inside a notification callback returns (no deadlock on the notification thread)")
    func synchronizeFromCallback() async throws {
        let sim = SimulatedAudioEngine()
        let enumerator = MMDeviceEnumerator(engine: sim)
        let client = ReentrantClient(enumerator: enumerator)
        enumerator.registerEndpointNotificationCallback(client)
        sim.addEndpoint(client: "usbcard", flow: .render, channels: 2)
        try await waitUntil(seconds: 5) { client.synchronizedInside.withLock { $0 } != nil }
        #expect(client.synchronizedInside.withLock { $0 } == true)
        let id = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
        #expect(try enumerator.getDevice(id: id).state == .active)
    }
}

/// Calls back into the enumerator from the notification thread.
private final class ReentrantClient: MMNotificationClient, @unchecked Sendable {
    let enumerator: MMDeviceEnumerator
    let synchronizedInside = Mutex<Bool?>(nil)
    init(enumerator: MMDeviceEnumerator) { self.enumerator = enumerator }
    func onDeviceAdded(deviceID: String) {
        let done = enumerator.synchronize()
        _ = try? enumerator.enumAudioEndpoints(.all, stateMask: .all)
        synchronizedInside.withLock { $0 = done }
    }
    func onDeviceRemoved(deviceID: String) {}
    func onDeviceStateChanged(deviceID: String, newState: DeviceState) {}
    func onDefaultDeviceChanged(flow: DataFlow, role: Role, deviceID: String?) {}
    func onPropertyValueChanged(deviceID: String, key: PropertyKey) {}
}

/// An event-driven shared render stream on `device` with the mix format, one
/// period of silence queued, started.
func startEventDrivenRender(on device: MMDevice) throws -> (AudioClient, AudioRenderClient, RealtimeEvent) {
    let client = try device.activateAudioClient()
    try client.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 0, format: try client.getMixFormat())
    let event = try RealtimeEvent()
    try client.setEventHandle(event)
    let render = try client.getRenderClient()
    _ = try render.getBuffer(frames: 64)
    try render.releaseBuffer(frames: 64, flags: .silent)
    try client.start()
    return (client, render, event)
}
