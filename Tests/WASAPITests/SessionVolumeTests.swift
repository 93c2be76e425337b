import Foundation
import JackEngine
import JackTestSupport
import Testing
import WASAPI

/// Sessions across processes against a real jackd: this test process is A
/// (plays and records its own output in one JACK client, so levels are
/// sample-exact); process B is the built `wasapi-jack` tool.
@Suite("Session volume and mute set by another process", .timeLimit(.minutes(15)))
struct SessionVolumeTests {
    struct Row: Decodable {
        var id: String, endpoint: String, displayName: String, state: String
        var pid: Int32, volume: Float, mute: Bool
    }

    static func listSessions(_ server: String) throws -> [Row] {
        let listed = try runBuiltProduct(["sessions", "--json", "--server", server])
        #expect(listed.status == 0, "\(listed.standardError)")
        return try JSONDecoder().decode([Row].self, from: Data(listed.standardOutput.utf8))
    }

    /// Left: 1 kHz at 0.5; right: a constant 0.5, so each right sample is
    /// 0.5 x the gain applied to it.
    @Test("B lists A's session, sets its volume to 0.25 then mutes it: -12 dB, then silence, each ramped within one period, events carry B's context")
    func volumeAndMuteFromAnotherProcess() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let tone = try FloatToneStream(device: device, left: FloatToneStream.sine(1000, 0.5), right: { _ in 0.5 })
            let control = try tone.client.getSessionControl()
            try control.setDisplayName("Session test tone")
            let events = RecordingSessionEvents()
            try control.registerAudioSessionNotification(events)
            let recorder = try EndpointRecorder(device: device)
            try tone.start()
            try await recorder.record(frames: 24_000)

            let rows = try Self.listSessions(server.name)
            let row = try #require(rows.first { $0.pid == getpid() && $0.displayName == "Session test tone" },
                                   "sessions listed: \(rows.map(\.id))")
            #expect(row.state == "active" && row.volume == 1 && !row.mute && row.endpoint == device.id)
            #expect(row.id == (try control.getSessionInstanceIdentifier()))

            let volumeContext = UUID(), muteContext = UUID()
            let volume = try runBuiltProduct(["volume", row.id, "0.25", "--context", volumeContext.uuidString, "--server", server.name])
            #expect(volume.status == 0, "\(volume.standardError)")
            try await recorder.record(frames: 24_000)
            let mute = try runBuiltProduct(["mute", row.id, "on", "--context", muteContext.uuidString, "--server", server.name])
            #expect(mute.status == 0, "\(mute.standardError)")
            try await recorder.record(frames: 24_000)
            try tone.stop()

            // The events, with B's contexts.
            #expect(await events.wait(for: .simpleVolume(0.25, mute: false, context: volumeContext)), "\(events.recorded)")
            #expect(await events.wait(for: .simpleVolume(0.25, mute: true, context: muteContext)), "\(events.recorded)")
            #expect(try control.simpleAudioVolume().getMasterVolume() == 0.25)
            let after = try #require(try Self.listSessions(server.name).first { $0.id == row.id })
            #expect(after.volume == 0.25 && after.mute)

            // The gain, sample by sample (right channel) and as a tone level (left).
            let left = recorder.recording.channel(0), right = recorder.recording.channel(1)
            let start = try #require(right.firstIndex { $0 == 0.5 })
            let drop = try #require(right[start...].firstIndex { $0 != 0.5 })
            let reached = try #require(right[drop...].firstIndex { $0 == 0.125 })
            let drop2 = try #require(right[reached...].firstIndex { $0 != 0.125 })
            let silent = try #require(right[drop2...].firstIndex { $0 == 0 })
            let ramp1 = reached - drop + 1, ramp2 = silent - drop2 + 1
            #expect(ramp1 <= 64 && ramp2 <= 64, "ramps of \(ramp1) and \(ramp2) frames (one period is 64)")
            #expect(Self.isLinearRamp(right[drop...reached]), "ramp to 0.25: \(Array(right[drop...reached]))")
            #expect(Self.isLinearRamp(right[drop2...silent]), "ramp to silence: \(Array(right[drop2...silent]))")
            #expect(right[silent...].allSatisfy { $0 == 0 } && left[silent...].allSatisfy { $0 == 0 }, "muted: silence")

            #expect(drop - start >= 4800 && drop2 - reached >= 4800, "enough steady tone on each side")
            let before = ToneMeasure.amplitude(of: 1000, in: left[(drop - 4800)..<drop])
            let lowered = ToneMeasure.amplitude(of: 1000, in: left[(reached + 1)..<(reached + 4801)])
            let change = ToneMeasure.decibels(lowered / before)
            #expect(abs(before - 0.5) < 0.001, "level before \(before)")
            #expect(abs(change - ToneMeasure.decibels(0.25)) < 0.05, "level change \(change) dB")
            // No click: no sample step in the ramp larger than the tone's own largest step.
            let toneStep = 2 * Double.pi * 1000 / 48_000 * 0.5
            let steps = zip(left[drop...reached], left[(drop - 1)...reached]).map { abs(Double($0) - Double($1)) }
            #expect(steps.max()! <= toneStep * 1.01, "largest step in the ramp \(steps.max()!)")
            print("session volume: -12 dB measured \(change) dB; ramps \(ramp1) and \(ramp2) frames")
        }
    }

    /// Whether `samples` go monotonically from their first to their last
    /// value in equal steps (a linear ramp).
    static func isLinearRamp(_ samples: ArraySlice<Float>) -> Bool {
        let values = Array(samples)
        guard values.count >= 2 else { return true }
        let steps = zip(values.dropFirst(), values).map { $0 - $1 }
        let mean = steps.reduce(0, +) / Float(steps.count)
        return steps.allSatisfy { abs($0 - mean) < 1e-5 && $0 <= 0 }
    }
}
