import Foundation
@testable import AudioGraph
import PCM
import SimulatedEngine
import Testing
@testable import WASAPI

/// Errors that used to be swallowed (project issue 14, item 7), on the
/// simulated engine: session records that cannot be encoded, metadata
/// announcements the server refuses.
@Suite("Swallowed errors (simulated engine)", .timeLimit(.minutes(15)))
struct SwallowedErrorTests {
    @Test("a session record that cannot be encoded is not published, and the change fails, leaving the session as it was")
    func unencodableSessionRecord() throws {
        expectError(.E_UNEXPECTED) { try SessionMetadata.encode([Float.nan]) }
        try withSimulatedEngine { sim, enumerator in
            let client = try initializedClient(try enumerator.getDefaultAudioEndpoint(.render, role: .console))
            let control = try client.getSessionControl()
            let volume = try client.getSimpleAudioVolume()
            try volume.setMasterVolume(0.5)
            control.hub.publisher.waitUntilWritten(waitingAtMost: 5_000_000_000)
            let published = sim.properties(withKeyPrefix: SessionMetadata.sessionPrefix).map(\.value)
            let error = expectError(.E_UNEXPECTED) {
                try control.hub.changeLocal(control.instance, context: UUID.null.registryFormat) { $0.volume = .nan }
            }
            #expect(error?.message.contains("JSON") == true, "\(String(describing: error))")
            #expect(sim.properties(withKeyPrefix: SessionMetadata.sessionPrefix).map(\.value) == published,
                    "nothing (not even \"{}\") was published")
            #expect(try volume.getMasterVolume() == 0.5)
            try volume.setMasterVolume(0.25)
            #expect(try volume.getMasterVolume() == 0.25)
        }
    }

    @Test("refused announcements: exclusive Initialize fails and releases the endpoint; a new default reports E_ACCESSDENIED")
    func refusedAnnouncements() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let mix = try client.getMixFormat()
            let period = try client.getDevicePeriod().minimumPeriod
            sim.refuseProperties(true)
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) {
                try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: period,
                                      periodicity: period, format: mix)
            }
            expectError(.E_ACCESSDENIED) { try enumerator.setDefaultAudioEndpoint(id: device.id, role: .console) }
            sim.refuseProperties(false)
            // The failed Initialize released its lock: the endpoint can be taken.
            try client.initialize(shareMode: .exclusive, streamFlags: [], bufferDuration: period,
                                  periodicity: period, format: mix)
            try enumerator.setDefaultAudioEndpoint(id: device.id, role: .console)
        }
    }
}

extension SwallowedErrorTests {
    @Test("a failed sample-rate converter: GetCurrentPadding and GetBuffer report DEVICE_INVALIDATED naming it, for good")
    func converterFailureIsReported() throws {
        try withSimulatedEngine { sim, enumerator in
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM], bufferDuration: 1_000_000,
                                  format: WaveFormat(.float32, sampleRate: 44_100, channels: 2))
            let render = try client.getRenderClient()
            try writeSilence(render, frames: 441)
            try client.start()
            sim.runCycles(4)
            #expect(try client.getCurrentPadding() < 441, "the converter works")
            // A real libsamplerate failure of the stream's converter: overlapping buffers.
            let converter = try #require(client.state.withLock { $0.stream?.converter })
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 512)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0, count: 512)
            _ = converter.pointer.pointee.resampler.process(input: buffer, inputFrames: 64, output: buffer + 32, outputFrames: 64)
            #expect(converter.pointer.pointee.failureCount == 1)
            let error = expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try client.getCurrentPadding() }
            #expect(error?.message.contains("converter") == true, "\(String(describing: error))")
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED) { try render.getBuffer(frames: 64) }
            expectError(.AUDCLNT_E_DEVICE_INVALIDATED, "invalidated for good, not only where the converter is checked") { try client.start() }
        }
    }
}
