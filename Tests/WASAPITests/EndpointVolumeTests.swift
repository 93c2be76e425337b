import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

/// IAudioEndpointVolume and IAudioMeterInformation against a real jackd:
/// process B (the built tool) sets the endpoint's level; this process
/// applies it to its own stream, hears the callback with B's context, and
/// meters the result.
@Suite("Endpoint volume and meters", .timeLimit(.minutes(15)))
struct EndpointVolumeTests {
    @Test("B sets the endpoint to -6 dB then mutes it: this process's stream follows, callbacks carry B's context, meters read the gained peak")
    func endpointVolumeFromAnotherProcess() async throws {
        try await withJackServer { server in
            try await Self.run(server: server)
        }
    }

    static func run(server: JackServerProcess) async throws {
        let enumerator = try MMDeviceEnumerator(serverName: server.name)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        let volume = try device.activateEndpointVolume()
        let callback = RecordingEndpointVolumeCallback()
        volume.registerControlChangeNotify(callback)
        #expect(volume.getVolumeRange() == (-96, 0, 0.5))
        #expect(volume.getVolumeStepInfo() == (192, 193))
        #expect(volume.getMasterVolumeLevel() == 0 && volume.getChannelCount() == 2)

        let tone = try FloatToneStream(device: device, left: FloatToneStream.sine(1000, 0.5), right: { _ in 0.5 })
        let recorder = try EndpointRecorder(device: device)
        try tone.start()
        try await recorder.record(frames: 9600)
        let meter = try device.activateMeterInformation()
        let sessionMeter = try tone.client.getSessionControl().meterInformation()
        #expect(meter.getChannelsPeakValues()[1] == 0.5 && sessionMeter.getPeakValue() == 0.5, "\(meter.getChannelsPeakValues())")

        let context = UUID()
        let set = try runBuiltProduct(["endpoint-volume", "--device", device.id, "--db=-6", "--context", context.uuidString,
                                       "--json", "--server", server.name])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(set.standardOutput.contains("\"levelDB\" : -6"), "\(set.standardOutput)")
        #expect(await callback.wait { $0.eventContext == context && $0.masterVolume == 0.9375 && !$0.muted },
                "\(callback.recorded)")
        let before = recorder.recording.channel(0).count
        try await recorder.record(frames: 9600)
        let gain = powf(10, -6 / 20)
        #expect(abs(meter.getChannelsPeakValues()[1] - 0.5 * gain) < 1e-6, "meter \(meter.getChannelsPeakValues())")
        #expect(volume.getMasterVolumeLevel() == -6 && abs(volume.getMasterVolumeLevelScalar() - 0.9375) < 1e-6)

        let muteContext = UUID()
        let mute = try runBuiltProduct(["endpoint-volume", "--device", device.id, "--mute", "on", "--context", muteContext.uuidString,
                                        "--server", server.name])
        #expect(mute.status == 0, "\(mute.standardError)")
        #expect(await callback.wait { $0.eventContext == muteContext && $0.muted })
        try await recorder.record(frames: 9600)
        try tone.stop()
        #expect(meter.getPeakValue() == 0, "stopped: no peak")

        // Measured: -6 dB on the tone, the right channel at 0.5 x gain, then silence.
        let left = recorder.recording.channel(0), right = recorder.recording.channel(1)
        let full = try #require(right.firstIndex { $0 == 0.5 })
        let lowered = try #require(right[before...].firstIndex { abs($0 - 0.5 * gain) < 1e-7 })
        let level = ToneMeasure.decibels(ToneMeasure.amplitude(of: 1000, in: left[(lowered + 1)..<(lowered + 4801)])
                                         / ToneMeasure.amplitude(of: 1000, in: left[full..<(full + 4800)]))
        #expect(abs(level + 6) < 0.05, "endpoint at -6 dB: measured \(level) dB")
        #expect(right.last == 0 && right.suffix(4800).allSatisfy { $0 == 0 }, "muted: silence")
        print("endpoint volume: -6 dB measured \(level) dB")

        // Bad input: typed errors, nothing changed.
        #expect(throws: AudioError.self) { try volume.setMasterVolumeLevel(3) }
        #expect(throws: AudioError.self) { try volume.setMasterVolumeLevelScalar(1.5) }
        #expect(throws: AudioError.self) { try volume.setChannelVolumeLevel(2, dB: -3) }
        let invalid = Result { try volume.setMasterVolumeLevelScalar(.nan) }
        #expect((try? invalid.get()) == nil)
        try volume.setMute(false)
        try volume.volumeStepDown()
        #expect(volume.getMasterVolumeLevel() == -6.5)
        try volume.volumeStepUp()
        try volume.volumeStepUp()
        #expect(volume.getMasterVolumeLevel() == -5.5)

        // The CLI's one-line errors.
        let id = try tone.client.getSessionControl().getSessionInstanceIdentifier()
        let tooLoud = try runBuiltProduct(["volume", id, "1.5", "--server", server.name])
        #expect(tooLoud.status != 0 && tooLoud.standardError.contains("E_INVALIDARG"), "\(tooLoud.standardError)")
        #expect(tooLoud.standardError.split(separator: "\n").count == 1)
        let unknown = try runBuiltProduct(["mute", "no-such-session", "on", "--server", server.name])
        #expect(unknown.status != 0 && unknown.standardError.contains("wasapi-jack sessions"), "\(unknown.standardError)")
    }
}
