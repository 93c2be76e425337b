import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import SignalAnalysis
import Testing
import WASAPI

/// Exclusive mode: native formats, aligned buffers, one owner per endpoint.
@Suite("Exclusive mode", .timeLimit(.minutes(15)))
struct ExclusiveModeTests {
    @Test("BUFFER_SIZE_NOT_ALIGNED gives the aligned size, which then initializes; the other exclusive rules")
    func bufferAlignment() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let mix = try client.getMixFormat()
            let s16 = WaveFormat(.int16, sampleRate: 48_000, channels: 2, extensible: false)
            #expect(try client.isFormatSupported(.exclusive, format: s16) == .supported)
            let resampled = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            expectCode(.AUDCLNT_E_UNSUPPORTED_FORMAT) { _ = try client.isFormatSupported(.exclusive, format: resampled) }
            expectCode(.AUDCLNT_E_UNSUPPORTED_FORMAT) {
                try client.initialize(shareMode: .exclusive, streamFlags: [.autoConvertPCM], bufferDuration: 0, format: resampled)
            }
            expectCode(.AUDCLNT_E_BUFDURATION_PERIOD_NOT_EQUAL) {
                try client.initialize(shareMode: .exclusive, streamFlags: [.eventCallback], bufferDuration: 26_667,
                                      periodicity: 13_334, format: mix)
            }
            expectCode(.AUDCLNT_E_INVALID_DEVICE_PERIOD) {
                try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 26_667, periodicity: 5_000, format: mix)
            }
            // 100 frames at 48 kHz is not a whole number of 64-frame periods.
            let hundredFrames: ReferenceTime = 20_834
            expectCode(.AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED) {
                try client.initialize(shareMode: .exclusive, streamFlags: [.eventCallback], bufferDuration: hundredFrames,
                                      periodicity: hundredFrames, format: s16)
            }
            let aligned = try client.getBufferSize()
            #expect(aligned == 128)
            // Windows' recipe: a new client, initialized with the aligned duration.
            let retry = try device.activateAudioClient()
            let duration = ReferenceTime(Double(aligned) / 48_000 * 10_000_000 + 0.5)
            try retry.initialize(shareMode: .exclusive, streamFlags: [.eventCallback], bufferDuration: duration,
                                 periodicity: duration, format: s16)
            #expect(try retry.getBufferSize() == 128)
            let event = try RealtimeEvent()
            try retry.setEventHandle(event)
            let render = try retry.getRenderClient()
            _ = try render.getBuffer(frames: 128)
            try render.releaseBuffer(frames: 128, flags: .silent)
            try retry.start()
            #expect(event.wait(timeoutMilliseconds: 2000) == .signaled)
            try retry.stop()
        }
    }

    @Test("one exclusive stream per endpoint: DEVICE_IN_USE for a second and for new shared streams; shared streams fall silent and return")
    func deviceInUseInProcess() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let mix = try device.activateAudioClient().getMixFormat()

            // A shared tone and a loopback that listens to the endpoint.
            let shared = try device.activateAudioClient()
            try shared.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 20_000_000, format: mix)
            let tone = try shared.getRenderClient()
            let frames = try shared.getBufferSize()
            let samples = try tone.getBuffer(frames: frames).bindMemory(to: Float.self)
            for index in 0..<samples.count { samples[index] = 0.5 }
            try tone.releaseBuffer(frames: frames)
            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 20_000_000, format: mix)
            let recording = LoopbackRecording(try loopback.getCaptureClient())
            try loopback.start()
            try shared.start()

            var exclusive: AudioClient? = try device.activateAudioClient()
            try exclusive!.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 26_667, periodicity: 0, format: mix)
            let second = try device.activateAudioClient()
            expectCode(.AUDCLNT_E_DEVICE_IN_USE) {
                try second.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 26_667, format: mix)
            }
            expectCode(.AUDCLNT_E_DEVICE_IN_USE) {
                try second.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            }
            // The running shared stream falls silent while the endpoint is held.
            try await pause(for: .milliseconds(300))
            let heldFrom = try recording.drain()
            try await pause(for: .milliseconds(200))
            _ = try recording.drain()
            let whileHeld = recording.channel(0).dropFirst(heldFrom)
            #expect(!whileHeld.isEmpty && whileHeld.allSatisfy { $0 == 0 }, "silent while held exclusively")

            exclusive = nil  // releases the endpoint
            try await pause(for: .milliseconds(300))
            let releasedFrom = try recording.drain()
            try await pause(for: .milliseconds(200))
            _ = try recording.drain()
            #expect(recording.channel(0).dropFirst(releasedFrom).contains(0.5), "the shared stream sounds again")
            try second.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            try shared.stop()
        }
    }

    @Test("DEVICE_IN_USE for an exclusive stream in another process")
    func deviceInUseAcrossProcesses() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let holder = try device.activateAudioClient()
            try holder.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 26_667,
                                  format: try holder.getMixFormat())
            setenv("WASAPI_TEST_EXCLUSIVE_SERVER", server.name, 1)
            defer { unsetenv("WASAPI_TEST_EXCLUSIVE_SERVER") }
            await #expect(processExitsWith: .success) {
                let name = String(cString: getenv("WASAPI_TEST_EXCLUSIVE_SERVER"))
                let enumerator = try MMDeviceEnumerator(serverName: name)
                let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
                let client = try device.activateAudioClient()
                let mix = try client.getMixFormat()
                do {
                    try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: 26_667, format: mix)
                    exitChild(["exclusive Initialize succeeded on a held endpoint"])
                } catch let error as AudioError where error.code == .AUDCLNT_E_DEVICE_IN_USE {
                    exitChild([])
                }
            }
        }
    }
}

/// Expects `body` to throw an AudioError with `code`.
func expectCode(_ code: HRESULT, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(code), the call succeeded", sourceLocation: sourceLocation)
    } catch let error as AudioError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
