import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

/// Ducking against a real jackd, measured in a loopback recording of the
/// endpoint: a media session (1 kHz), a session that opted out of ducking
/// (2 kHz) and a communications session (440 Hz). Windows of 4800 frames
/// hold whole cycles of all three, so each tone's level is measured apart
/// from the others.
@Suite("Ducking", .timeLimit(.minutes(15)))
struct DuckingTests {
    @Test("a communications stream lowers a media session by the preference (80 %, then 50 %), spares the opted-out one, and restores both")
    func communicationsDucksMedia() async throws {
        let configDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: configDirectory) }
        try await withJackServer { server in
            try await withConfigDirectory(configDirectory) { try await Self.duckAndMeasure(server: server) }
        }
    }

    /// The body of ``communicationsDucksMedia()`` (kept out of its closure:
    /// Swift 6.3.1 crashes splitting that coroutine when it holds a `defer`).
    static func duckAndMeasure(server: JackServerProcess) async throws {
        let enumerator = try MMDeviceEnumerator(serverName: server.name)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        let manager = device.activateSessionManager()
        #expect(manager.duckingPreference == .reduceBy80Percent, "Windows' default")
        let ducks = RecordingDuckNotification()
        manager.registerDuckNotification(sessionID: nil, ducks)

        let media = try FloatToneStream(device: device, left: FloatToneStream.sine(1000, 0.5),
                                        right: FloatToneStream.sine(1000, 0.5))
        let optedOut = try FloatToneStream(device: device, sessionGUID: UUID(),
                                           left: FloatToneStream.sine(2000, 0.25), right: FloatToneStream.sine(2000, 0.25))
        try optedOut.client.getSessionControl().setDuckingPreference(optOut: true)
        let recorder = try EndpointRecorder(device: device)
        try media.start()
        try optedOut.start()
        try await recorder.record(frames: 19_200)

        let firstCall = try await Self.call(device: device, recorder: recorder, manager: manager, preference: .reduceBy80Percent)
        let secondCall = try await Self.call(device: device, recorder: recorder, manager: manager, preference: .reduceBy50Percent)
        try media.stop()
        try optedOut.stop()

        try Self.verifyLevels(recorder.recording.channel(0))

        // Duck and unduck notifications name each call's session.
        let expected: [RecordingDuckNotification.Call] = [.duck(firstCall, count: 1), .unduck(firstCall),
                                                          .duck(secondCall, count: 1), .unduck(secondCall)]
        let notified = await ducks.wait(for: expected)
        #expect(notified, "\(ducks.recorded)")
    }

    @Test("a communications stream in another process ducks this process's media session by 80 % and restores it, with duck notifications")
    func communicationsInAnotherProcessDucksMedia() async throws {
        let configDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: configDirectory) }
        // 1024-frame periods: the other process's call is measured window by
        // window to 0.001, and a VM that stalls for 10 ms now and then makes
        // 64-frame cycles xrun (one CI run lost every call window so).
        try await withJackServer(period: 1024) { server in
            try await withConfigDirectory(configDirectory) {
                try await Self.duckedByAnotherProcess(server: server, configDirectory: configDirectory)
            }
        }
    }

    static func duckedByAnotherProcess(server: JackServerProcess, configDirectory: String) async throws {
        let wav = configDirectory + "/call.wav"
        try writeToneWAV(path: wav, frequency: 440, amplitude: 0.25, seconds: 0.6)
        let enumerator = try MMDeviceEnumerator(serverName: server.name)
        let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
        let ducks = RecordingDuckNotification()
        let manager = device.activateSessionManager()
        manager.registerDuckNotification(sessionID: nil, ducks)
        let media = try FloatToneStream(device: device, left: FloatToneStream.sine(1000, 0.5),
                                        right: FloatToneStream.sine(1000, 0.5))
        let recorder = try EndpointRecorder(device: device)
        try media.start()
        try await recorder.record(frames: 19_200)
        // Process B plays the call; the recorder's 5 s ring keeps everything meanwhile.
        let call = try runBuiltProduct(["play", wav, "--category", "communications", "--server", server.name],
                                       environment: ["WASAPI_JACK_CONFIG_DIR": configDirectory])
        #expect(call.status == 0, "\(call.standardError)")
        try await recorder.record(frames: 19_200)
        try media.stop()

        let measured = phaseLevels(recorder.recording.channel(0))
        try #require(measured.phases == [false, true, false], "phases found: \(measured.phases)")
        let ducked = ToneMeasure.decibels(measured.media[1] / measured.media[0])
        let restored = ToneMeasure.decibels(measured.media[2] / measured.media[0])
        #expect(abs(ducked - ToneMeasure.decibels(0.2)) < 0.05, "ducked by \(ducked) dB")
        #expect(abs(restored) < 0.05, "restored to \(restored) dB")
        print("ducking across processes: 80 % measured \(ducked) dB, restored \(restored) dB")
        for _ in 0..<500 where ducks.recorded.count < 2 { try await pause(for: .milliseconds(10)) }
        let calls = ducks.recorded
        #expect(calls.count == 2, "\(calls)")
        if calls.count == 2, case let .duck(id, 1) = calls[0] {
            #expect(calls[1] == .unduck(id) && !id.hasSuffix("|1%b\(getpid())"), "\(calls)")
        } else {
            Issue.record("expected a duck then an unduck notification: \(calls)")
        }
        withExtendedLifetime(manager) {}
    }

    /// Media at 0.5 before, ducked by 80 % then 50 % during the calls,
    /// restored after each; the opted-out session at 0.25 throughout.
    static func verifyLevels(_ left: [Float]) throws {
        let measured = phaseLevels(left)
        try #require(measured.phases == [false, true, false, true, false], "phases found: \(measured.phases)")
        let levels = measured.media
        let first = ToneMeasure.decibels(levels[1] / levels[0]), second = ToneMeasure.decibels(levels[3] / levels[2])
        #expect(abs(levels[0] - 0.5) < 0.001, "media at its own level before: \(levels[0])")
        #expect(abs(first - ToneMeasure.decibels(0.2)) < 0.05, "80 % ducking: \(first) dB")
        #expect(abs(second - ToneMeasure.decibels(0.5)) < 0.05, "50 % ducking: \(second) dB")
        #expect(abs(ToneMeasure.decibels(levels[2] / levels[0])) < 0.05 && abs(ToneMeasure.decibels(levels[4] / levels[0])) < 0.05,
                "restored after each call: \(levels)")
        let spared = measured.optedOut.map { ToneMeasure.decibels($0 / 0.25) }
        #expect(spared.allSatisfy { abs($0) < 0.05 }, "the opted-out session is never ducked: \(spared)")
        print("ducking: 80 % measured \(first) dB, 50 % measured \(second) dB")
    }

    /// Sets the ducking preference, then runs a communications stream (440 Hz)
    /// for 0.5 s and records 0.4 s after it; returns its session's instance id.
    static func call(device: MMDevice, recorder: EndpointRecorder, manager: AudioSessionManager,
                     preference: DuckingPreference) async throws -> String {
        try manager.setDuckingPreference(preference)
        let call = try FloatToneStream(device: device, sessionGUID: UUID(), category: .communications,
                                       left: FloatToneStream.sine(440, 0.25), right: FloatToneStream.sine(440, 0.25))
        let instance = try call.client.getSessionControl().getSessionInstanceIdentifier()
        try call.start()
        try await recorder.record(frames: 24_000)
        try call.stop()
        try await recorder.record(frames: 19_200)
        return instance
    }

    /// Splits the recording into windows of 4800 frames, classifies each as
    /// in a call (440 Hz at its full 0.25) or not (no 440 Hz), drops windows
    /// that straddle a change, groups runs of one state, and gives per run
    /// the median 1 kHz level (first window of the run dropped) and every
    /// 2 kHz level.
    static func phaseLevels(_ left: [Float]) -> (phases: [Bool], media: [Double], optedOut: [Double]) {
        var runs: [(inCall: Bool, media: [Double])] = []
        var optedOut: [Double] = []
        for start in stride(from: 0, to: left.count - 4800, by: 4800) {
            let window = left[start..<(start + 4800)]
            let media = ToneMeasure.amplitude(of: 1000, in: window)
            let call = ToneMeasure.amplitude(of: 440, in: window)
            guard media > 0.01 else { continue }
            let inCall: Bool
            if abs(call - 0.25) < 0.001 { inCall = true } else if call < 1e-4 { inCall = false } else { continue }
            optedOut.append(ToneMeasure.amplitude(of: 2000, in: window))
            if runs.last?.inCall == inCall { runs[runs.count - 1].media.append(media) } else { runs.append((inCall, [media])) }
        }
        let medians = runs.map { run -> Double in
            let values = (run.media.count > 1 ? Array(run.media.dropFirst()) : run.media).sorted()
            return values[values.count / 2]
        }
        return (runs.map(\.inCall), medians, optedOut)
    }
}
