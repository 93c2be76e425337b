import AudioGraph
import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import Testing
import WASAPI

/// One test per HRESULT the audio client returns: the call that must be
/// rejected is rejected with Windows' code, and the client still works
/// afterwards (a rejected call leaves it as it was).
///
/// Every JACK test runs against a private jackd (48 kHz, 64-frame period,
/// 2 capture and 2 playback ports) started by `withJackServer`.
@Suite("Audio client error codes", .timeLimit(.minutes(15)))
struct AudioClientErrorTests {
    // MARK: HRESULT values

    @Test("HRESULT constants carry Windows' values")
    func hresultValues() {
        let table: [(HRESULT, UInt32)] = [
            (.S_OK, 0x0000_0000),
            (.S_FALSE, 0x0000_0001),
            (.E_NOINTERFACE, 0x8000_4002),
            (.E_INVALIDARG, 0x8007_0057),
            (.E_OUTOFMEMORY, 0x8007_000E),
            (.E_NOTFOUND, 0x8007_0490),
            (.AUDCLNT_E_NOT_INITIALIZED, 0x8889_0001),
            (.AUDCLNT_E_ALREADY_INITIALIZED, 0x8889_0002),
            (.AUDCLNT_E_WRONG_ENDPOINT_TYPE, 0x8889_0003),
            (.AUDCLNT_E_DEVICE_INVALIDATED, 0x8889_0004),
            (.AUDCLNT_E_NOT_STOPPED, 0x8889_0005),
            (.AUDCLNT_E_BUFFER_TOO_LARGE, 0x8889_0006),
            (.AUDCLNT_E_OUT_OF_ORDER, 0x8889_0007),
            (.AUDCLNT_E_UNSUPPORTED_FORMAT, 0x8889_0008),
            (.AUDCLNT_E_INVALID_SIZE, 0x8889_0009),
            (.AUDCLNT_E_BUFFER_OPERATION_PENDING, 0x8889_000B),
            (.AUDCLNT_E_EXCLUSIVE_MODE_NOT_ALLOWED, 0x8889_000E),
            (.AUDCLNT_E_SERVICE_NOT_RUNNING, 0x8889_0010),
            (.AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED, 0x8889_0011),
            (.AUDCLNT_E_EVENTHANDLE_NOT_SET, 0x8889_0014),
            (.AUDCLNT_E_BUFFER_SIZE_ERROR, 0x8889_0016),
            (.AUDCLNT_S_BUFFER_EMPTY, 0x0889_0001),
        ]
        for (code, windows) in table {
            #expect(code.rawValue == Int32(bitPattern: windows), "\(code)")
            #expect(code.isSuccess == (windows & 0x8000_0000 == 0), "\(code)")
        }
        #expect(HRESULT.AUDCLNT_E_UNSUPPORTED_FORMAT.rawValue == Int32(bitPattern: 0x8889_0008))
        #expect(HRESULT.AUDCLNT_E_UNSUPPORTED_FORMAT.description == "AUDCLNT_E_UNSUPPORTED_FORMAT (0x88890008)")
        // The codes are distinct: comparing by code can tell them apart.
        #expect(Set(table.map(\.0)).count == table.count)
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: a render endpoint whose ports are unregistered; other endpoints and a fresh client work")
    func deviceInvalidatedByUnregister() async throws {
        try await withJackServer { server in
            let card = try JackClient(name: "usbcard", serverName: server.name)
            defer { card.close() }
            let ports = try (1...2).map { try card.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let cardID = EndpointDescriptor.stableID(flow: .render, clientName: "usbcard", group: nil)
            let device = try enumerator.getDevice(id: cardID)
            #expect(device.state == .active)
            let client = try initializedClient(device)
            let render = try client.getRenderClient()
            let clock = try client.getClock()
            let volume = try client.getStreamVolume()
            try writeSilence(render, frames: 256)
            try client.start()

            ports.forEach(card.unregister)
            enumerator.synchronize()
            #expect(device.state == .notPresent)
            let code = HRESULT.AUDCLNT_E_DEVICE_INVALIDATED
            expectError(code) { try client.getBufferSize() }
            expectError(code) { try client.getCurrentPadding() }
            expectError(code) { try client.getStreamLatency() }
            expectError(code) { try client.getMixFormat() }
            expectError(code) { try client.getDevicePeriod() }
            expectError(code) { try client.isFormatSupported(.shared, format: WaveFormat(.float32, sampleRate: 48_000, channels: 2)) }
            expectError(code) { try client.start() }
            expectError(code) { try client.getRenderClient() }
            expectError(code) { try render.getBuffer(frames: 1) }
            expectError(code) { try clock.getPosition() }
            expectError(code) { try volume.getAllVolumes() }
            expectError(code) { try device.activateAudioClient() }
            // Stop is still accepted (an application stops and releases the stream).
            _ = try client.stop()

            // The other endpoints of the same engine are unaffected.
            let system = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            try writeSilence(try system.getRenderClient(), frames: 64)
            try system.start()
            try system.stop()

            // The card comes back: a freshly activated client works on it.
            _ = try (1...2).map { try card.registerPort("playback_\($0)", direction: .input, flags: [.isPhysical, .isTerminal]) }
            enumerator.synchronize()
            #expect(device.state == .active)
            let fresh = try initializedClient(device)
            try writeSilence(try fresh.getRenderClient(), frames: 64)
            try fresh.start()
            try fresh.stop()

            // As on Windows, an invalidated client stays invalidated when the
            // endpoint returns (its ports lost their connections).
            expectError(code) { try client.getBufferSize() }
            expectError(code) { try render.getBuffer(frames: 1) }
        }
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: a capture endpoint whose JACK client closes")
    func deviceInvalidatedByClose() async throws {
        try await withJackServer { server in
            let card = try JackClient(name: "usbmic", serverName: server.name)
            defer { card.close() }
            _ = try (1...2).map { try card.registerPort("capture_\($0)", direction: .output, flags: [.isPhysical, .isTerminal]) }
            try card.activate()
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            enumerator.synchronize()
            let cardID = EndpointDescriptor.stableID(flow: .capture, clientName: "usbmic", group: nil)
            let device = try enumerator.getDevice(id: cardID)
            let client = try initializedClient(device)
            let capture = try client.getCaptureClient()
            try client.start()
            let packet = try await nextPacket(capture)
            try capture.releaseBuffer(frames: packet.frames)

            card.close()
            try await waitUntil {
                enumerator.synchronize()
                return device.state == .notPresent
            }
            #expect(device.state == .notPresent)
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try capture.getBuffer() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try capture.getNextPacketSize() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.getCurrentPadding() }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.reset() }
            _ = try client.stop()

            // The system capture endpoint still captures.
            let system = try initializedClient(try enumerator.getDefaultAudioEndpoint(.capture, role: .console))
            let systemCapture = try system.getCaptureClient()
            try system.start()
            let systemPacket = try await nextPacket(systemCapture)
            try systemCapture.releaseBuffer(frames: systemPacket.frames)
            try system.stop()
        }
    }

    @Test("AUDCLNT_E_DEVICE_INVALIDATED: every stream call once the JACK server stopped; SERVICE_NOT_RUNNING for a new enumerator (in a child process)")
    func deviceInvalidatedByServerStop() async throws {
        // The child exits before releasing anything (see the next test). Each
        // child starts its own jackd: the parent holds the JACK gate meanwhile,
        // so that the test run never has more servers up than jackd allows
        // ("Too many servers already active" at 8).
        _ = try await withJackLibrary {
            await #expect(processExitsWith: .success, "the child records each wrong answer as an issue") {
                try await serverStopScenario(releasingObjects: false)
            }
        }
    }

    @Test("releasing the stream and the enumerator after the JACK server stopped does not crash (in a child process)")
    func releaseAfterServerStop() async throws {
        _ = try await withJackLibrary {
            await #expect(processExitsWith: .success) {
                try await serverStopScenario(releasingObjects: true)
            }
        }
    }

    @Test("AUDCLNT_E_BUFFER_SIZE_ERROR, not a crash, for a duration whose frame count overflows (in a child process)")
    func bufferDurationOverflow() async throws {
        _ = try await withJackLibrary {
            await #expect(processExitsWith: .success) {
                try await withJackServer { server in
                    let enumerator = try MMDeviceEnumerator(serverName: server.name)
                    let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
                    let mix = try client.getMixFormat()
                    do {
                        // About 3 years: duration x 48 000 exceeds Int64.
                        try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000_000_000_000, format: mix)
                        exitChild(["Initialize accepted a 3-year buffer"])
                    } catch {
                        exitChild((error as? AudioError)?.code == .AUDCLNT_E_BUFFER_SIZE_ERROR ? [] : ["Initialize: \(error)"])
                    }
                }
            }
        }
    }

    @Test("AUDCLNT_E_SERVICE_NOT_RUNNING: an enumerator on a server nobody runs; one on a running server works")
    func serviceNotRunning() async throws {
        try await withJackServer { server in
            let absent = JackServerProcess.Configuration.uniqueName(prefix: "wasapi-absent")
            let error = expectError(.AUDCLNT_E_SERVICE_NOT_RUNNING) { try MMDeviceEnumerator(serverName: absent) }
            #expect(error?.message.contains(absent) == true, "\(error?.message ?? "")")
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            #expect(try enumerator.enumAudioEndpoints(.all, stateMask: .active).count == 2)
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            try writeSilence(try client.getRenderClient(), frames: 64)
        }
    }
}

// MARK: Helpers

/// Runs `body`, which must throw an ``AudioError`` with `code`; returns the error.
@discardableResult
func expectError<T>(_ code: HRESULT, _ comment: @autoclosure () -> String = "",
                            sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> T) -> AudioError? {
    do {
        let value = try body()
        Issue.record("expected \(code), the call succeeded with \(value) \(comment())", sourceLocation: sourceLocation)
        return nil
    } catch let error as AudioError {
        #expect(error.code == code, "\(error) \(comment())", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an AudioError with \(code), got \(error) \(comment())", sourceLocation: sourceLocation)
        return nil
    }
}

/// A client on `device`, initialised shared with the mix format and a 100 ms buffer.
func initializedClient(_ device: MMDevice, flags: StreamFlags = []) throws -> AudioClient {
    let client = try device.activateAudioClient()
    try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: 1_000_000, format: try client.getMixFormat())
    return client
}

/// Queues `frames` frames of silence.
func writeSilence(_ render: AudioRenderClient, frames: Int) throws {
    _ = try render.getBuffer(frames: frames)
    try render.releaseBuffer(frames: frames, flags: .silent)
}

/// Waits (at most 5 s) for a packet and returns it, not yet released.
private func nextPacket(_ capture: AudioCaptureClient) async throws -> CaptureBuffer {
    try await waitUntil { (try? capture.getNextPacketSize()).map { $0 > 0 } ?? true }
    return try #require(try capture.getBuffer(), "no packet was captured within 5 s")
}


/// Exit-test body: a running render stream whose JACK server stops, and an
/// application that reacts as on Windows. Checks that every stream call
/// answers DEVICE_INVALIDATED and that a new enumerator (the application
/// trying to start over) answers SERVICE_NOT_RUNNING. Then, with
/// `releasingObjects`, releases the stream and the enumerator, as the
/// application would. Exits 0 when everything answered as expected, 3
/// otherwise (recording each wrong answer as an issue).
private func serverStopScenario(releasingObjects: Bool) async throws {
    /// Holds the objects so that their release happens exactly where the scenario says.
    final class Objects: @unchecked Sendable {
        var enumerator: MMDeviceEnumerator?
        var client: AudioClient?
        var render: AudioRenderClient?
    }
    var failures: [String] = []
    func check(_ code: HRESULT, _ call: String, _ body: () throws -> Void) {
        do {
            try body()
            failures.append("\(call) succeeded, expected \(code)")
        } catch let error as AudioError {
            if error.code != code { failures.append("\(call): \(error), expected \(code)") }
        } catch {
            failures.append("\(call): \(error)")
        }
    }
    try await withJackServer { server in
        // Only `objects` holds the stream and the enumerator: no local keeps them alive.
        let objects = Objects()
        objects.enumerator = try MMDeviceEnumerator(serverName: server.name)
        objects.client = try initializedClient(try objects.enumerator!.getDefaultAudioEndpoint(.render, role: .console))
        objects.render = try objects.client!.getRenderClient()
        try writeSilence(objects.render!, frames: 256)
        try objects.client!.start()

        server.stop()
        try await waitUntil { ((try? JackAudioEngine.shared(serverName: server.name))?.isShutDown ?? true) }
        if !((try? JackAudioEngine.shared(serverName: server.name))?.isShutDown ?? true) { failures.append("the engine did not notice the server stopping") }
        let code = HRESULT.AUDCLNT_E_DEVICE_INVALIDATED
        check(code, "GetBufferSize") { _ = try objects.client!.getBufferSize() }
        check(code, "GetCurrentPadding") { _ = try objects.client!.getCurrentPadding() }
        check(code, "GetMixFormat") { _ = try objects.client!.getMixFormat() }
        check(code, "Start") { try objects.client!.start() }
        check(code, "GetBuffer") { _ = try objects.render!.getBuffer(frames: 1) }
        check(code, "GetService(IAudioClock)") { _ = try objects.client!.getClock() }
        check(code, "Activate") { _ = try objects.client!.device.activateAudioClient() }
        check(.AUDCLNT_E_SERVICE_NOT_RUNNING, "a new MMDeviceEnumerator") { _ = try MMDeviceEnumerator(serverName: server.name) }
        if releasingObjects {
            _ = try? objects.client?.stop()
            objects.render = nil
            objects.client = nil
            objects.enumerator = nil
            // The answers are checked by deviceInvalidatedByServerStop; here only the release matters.
            exitChild([])
        }
        // Exit before anything is released: releasing is the known crash (see releaseAfterServerStop).
        withExtendedLifetime(objects) { exitChild(failures) }
    }
}

/// Ends an exit test's child: status 0 without failures, 3 with them (each recorded as an issue).
func exitChild(_ failures: [String]) -> Never {
    // Issues recorded in the child are reported by the parent test.
    for failure in failures { Issue.record("wrong answer: \(failure)") }
    // _exit, not exit: atexit handlers and static destructors would race the
    // JACK and engine threads still running in the child (a SIGILL now and then).
    // The library's exit hooks run first: a thread inside jackd2's metadata
    // database finishes its call, so that no lock of the child's outlives it.
    ProcessExit.markExiting()
    fflush(nil)
    _exit(failures.isEmpty ? 0 : 3)
}
