import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import SignalAnalysis
import Testing
import WASAPI

/// IAudioStreamVolume and IAudioClockAdjustment on running streams.
@Suite("Stream volume and rate adjustment", .timeLimit(.minutes(15)))
struct StreamControlTests {
    /// Per-channel stream volume, applied by the process thread: the loopback
    /// of a tone shows each channel at its gain.
    @Test("channel volumes scale each channel of the stream in the graph")
    func channelVolumes() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let format = WaveFormat(.int16, sampleRate: 48_000, channels: 2, extensible: false)
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 2_000_000, format: format)
            let volume = try client.getStreamVolume()
            #expect(try volume.getChannelCount() == 2)
            #expect(try volume.getAllVolumes() == [1, 1])
            try volume.setChannelVolume(1, level: 0.25)
            #expect(try volume.getChannelVolume(1) == 0.25)

            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 20_000_000,
                                    format: try loopback.getMixFormat())
            let recording = LoopbackRecording(try loopback.getCaptureClient())
            try loopback.start()
            let tone = ToneSource(frequency: 500, rate: 48_000, amplitude: 0.5)
            try tone.fill(try client.getRenderClient(), frames: try client.getBufferSize())
            try client.start()
            let deadline = ContinuousClock.now + .seconds(30)
            while try recording.drain() < 14_400 && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(10))
            }
            try client.stop()
            let left = SignalAnalysis.steadyPart(recording.channel(0), skip: 480, count: 8000)
            let right = SignalAnalysis.steadyPart(recording.channel(1), skip: 480, count: 8000)
            #expect(abs(SignalAnalysis.sineAmplitude(left) - 0.5) < 0.001)
            #expect(abs(SignalAnalysis.sineAmplitude(right) - 0.125) < 0.001, "-12 dB on the right channel")
        }
    }

    /// A RATEADJUST stream told it now runs at 47 kHz takes frames from its
    /// buffer at 47 kHz of device time.
    @Test("IAudioClockAdjustment changes the rate at which the stream is consumed")
    func rateAdjustment() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            #expect(throws: AudioError.self) { try client.getClockAdjustment() }
            let mix = try client.getMixFormat()
            try client.initialize(shareMode: .shared, streamFlags: [.rateAdjust], bufferDuration: 40_000_000, format: mix)
            let adjustment = try client.getClockAdjustment()
            try adjustment.setSampleRate(47_000)
            #expect(throws: AudioError.self) { try adjustment.setSampleRate(0) }
            let render = try client.getRenderClient()
            let bufferFrames = try client.getBufferSize()
            _ = try render.getBuffer(frames: bufferFrames)
            try render.releaseBuffer(frames: bufferFrames, flags: .silent)
            let engine = try JackAudioEngine.shared(serverName: server.name)
            try client.start()
            try await pause(for: .milliseconds(100))
            let paddingBefore = try client.getCurrentPadding(), deviceBefore = engine.cycleClock
            try await pause(for: .milliseconds(1500))
            let paddingAfter = try client.getCurrentPadding(), deviceAfter = engine.cycleClock
            try client.stop()
            let consumed = Double(paddingBefore - paddingAfter)
            // Device time as the cycles this client ran: a cycle JACK skipped
            // (an xrun on a busy machine) consumes nothing and must not count.
            let deviceSeconds = Double((deviceAfter.cycleCount - deviceBefore.cycleCount) * UInt64(deviceAfter.frames)) / 48_000
            let rate = consumed / deviceSeconds
            // Padding and the device clock each move in whole periods: allow
            // four periods of error over the 1.5 s measured.
            #expect(abs(rate - 47_000) < 300, "consumed at \(rate) frames/s; \(device.xrunCount) xruns so far")
        }
    }
}

/// Stream latency as JACK sees it.
@Suite("Latency reported to JACK", .timeLimit(.minutes(15)))
struct LatencyReportTests {
    /// A resampled render stream reports one period plus the resampler's
    /// look-ahead as its ports' capture latency, the figure GetStreamLatency gives.
    @Test("a stream's ports report the latency GetStreamLatency gives")
    func reportedLatency() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM, .srcDefaultQuality],
                                  bufferDuration: 1_000_000, format: format)
            let latency = try client.getStreamLatency()
            let expectedFrames = Int((Double(latency) * 48_000 / 10_000_000).rounded())
            #expect(expectedFrames > 64, "one period plus the sinc converter's look-ahead")

            let observer = try JackClient(name: "observer", serverName: server.name)
            defer { observer.close() }
            let portName = try #require(try client.portNames().first)
            let port = try #require(observer.port(named: portName))
            var reported = 0...0
            for _ in 0..<200 where reported.upperBound != expectedFrames {
                reported = observer.latencyRange(of: port, playback: false)
                try await pause(for: .milliseconds(10))
            }
            #expect(reported == expectedFrames...expectedFrames)
        }
    }
}
