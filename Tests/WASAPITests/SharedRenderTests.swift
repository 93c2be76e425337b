import Foundation
import JackEngine
import JackTestSupport
import PCM
import SignalAnalysis
import Realtime
import Testing
import WASAPI

/// Shared-mode render, loopback and clock against a real jackd (48 kHz, 64-frame periods).
@Suite("Shared-mode render, loopback capture and clock", .timeLimit(.minutes(15)))
struct SharedRenderTests {
    /// A 44.1 kHz 16-bit stereo 1 kHz tone at half scale, event-driven, arrives in
    /// the 48 kHz float graph at 1 kHz and -6 dBFS; a loopback capture of the
    /// endpoint returns the same tone; the clock advances at the stream's rate.
    @Test("44.1 kHz 16-bit render: frequency and level in the graph, the same in loopback, clock at the real rate")
    func resampledRenderAndLoopback() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let client = try device.activateAudioClient()
            let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            try client.initialize(shareMode: .shared, streamFlags: [.eventCallback, .autoConvertPCM, .srcDefaultQuality],
                                  bufferDuration: 1_000_000, format: format)
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            let render = try client.getRenderClient()
            let clock = try client.getClock()
            let bufferFrames = try client.getBufferSize()
            #expect(bufferFrames == 4410, "100 ms at 44.1 kHz")

            let probe = try PortProbe(serverName: server.name)
            try probe.connect(from: try client.portNames())

            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 20_000_000,
                                    format: try loopback.getMixFormat())
            let loopbackCapture = try loopback.getCaptureClient()
            try loopback.start()

            // Prefill, then feed on the event.
            let tone = ToneSource(frequency: 1000, rate: 44_100, amplitude: 0.5)
            try tone.fill(render, frames: bufferFrames)
            try client.start()
            let feeder = StreamThread {
                guard event.wait(timeoutMilliseconds: 2000) == .signaled else { return false }
                guard let padding = try? client.getCurrentPadding() else { return false }
                return (try? tone.fill(render, frames: bufferFrames - padding)) != nil
            }
            var loopbackSamples: [Float] = []
            var start: (position: UInt64, qpcPosition: UInt64)?
            var deviceStart: Double?
            let deadline = ContinuousClock.now + .seconds(30)
            var measuredSince: ContinuousClock.Instant?
            // Enough tone for the analysis, and at least 1.5 s of clock, however late this thread wakes.
            while probe.drain() >= 0
                    && (probe.framesSinceSound() < 110_000 || measuredSince.map { ContinuousClock.now - $0 < .seconds(1.5) } ?? true)
                    && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(20))
                // Past the start-up latency, the position runs; measure from there.
                if start == nil && probe.framesSinceSound() >= 24_000 {
                    start = try clock.getPosition()
                    deviceStart = try Self.deviceFrames(clock, at: start!.qpcPosition)
                    measuredSince = ContinuousClock.now
                }
                while let packet = try loopbackCapture.getBuffer() {
                    loopbackSamples += packet.data.bindMemory(to: Float.self)
                    try loopbackCapture.releaseBuffer(frames: packet.frames)
                }
            }
            let end = try clock.getPosition()
            let deviceEnd = try Self.deviceFrames(clock, at: end.qpcPosition)
            feeder.stop()
            try client.stop()
            try loopback.stop()

            // In the graph: 1 kHz at 0.5 (the 44.1 -> 48 kHz conversion keeps both).
            let left = SignalAnalysis.steadyPart(probe.channel(0), skip: 4800, count: 48_000)
            #expect(left.count == 48_000)
            let frequency = SignalAnalysis.frequency(left, rate: 48_000)
            let amplitude = SignalAnalysis.sineAmplitude(left)
            #expect(abs(frequency - 1000) < 0.5, "measured \(frequency) Hz")
            #expect(abs(20 * log10(amplitude / 0.5)) < 0.1, "measured amplitude \(amplitude)")
            #expect(probe.channel(1).suffix(48_000) == probe.channel(0).suffix(48_000), "both channels carry the tone")

            // Loopback: the same tone, the same level.
            let looped = SignalAnalysis.steadyPart(stride(from: 0, to: loopbackSamples.count, by: 2).map { loopbackSamples[$0] },
                                                   skip: 4800, count: 24_000)
            #expect(looped.count == 24_000)
            #expect(abs(SignalAnalysis.frequency(looped, rate: 48_000) - 1000) < 0.5)
            #expect(abs(20 * log10(SignalAnalysis.sineAmplitude(looped) / 0.5)) < 0.1)

            // Clock: bytes per second of the stream; the position advances at
            // the stream's rate against the device frames the stream ran for
            // (IAudioClock2; a cycle JACK skipped in an xrun counts in neither),
            // and roughly with the wall clock (the dummy driver on a loaded VM
            // drifts and skips).
            let frequencyUnits = try clock.getFrequency()
            #expect(frequencyUnits == 44_100 * 4)
            let begin = try #require(start), deviceBegin = try #require(deviceStart)
            let wallSeconds = Double(end.qpcPosition - begin.qpcPosition) / 1e7
            let deviceSeconds = (deviceEnd - deviceBegin) / 48_000
            let advanced = Double(end.position - begin.position) / Double(frequencyUnits)
            #expect(deviceSeconds > 1)
            #expect(abs(advanced / deviceSeconds - 1) < 0.001,
                    "position advanced \(advanced) s in \(deviceSeconds) s of device time (\(wallSeconds) s wall clock)")
            #expect(abs(advanced / wallSeconds - 1) < 0.05, "against the wall clock: \(advanced) s in \(wallSeconds) s")
        }
    }

    /// Device frames (engine rate) at `qpc`: IAudioClock2's count at the last
    /// cycle, interpolated to `qpc` within one 64-frame period.
    static func deviceFrames(_ clock: AudioClock, at qpc: UInt64) throws -> Double {
        let device = try clock.getDevicePosition()
        let elapsed = qpc > device.qpcPosition ? Double(qpc - device.qpcPosition) / 1e7 * 48_000 : 0
        return Double(device.position) + min(elapsed, 64)
    }

    /// 10^6 frames of a counter at the native format from an event-driven
    /// render thread, recorded by a loopback capture of the endpoint (in the
    /// same JACK client, so a late cycle of another client cannot hide a
    /// loss): nothing lost, repeated or reordered.
    @Test("a counter signal of 10^6 frames arrives bit-exact through an event-driven native stream and loopback")
    func bitExactCounter() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let (client, render, event, loopback, capture) = try eventRenderWithLoopback(on: device, bufferDuration: 200_000)
            #expect(try client.isFormatSupported(.shared, format: client.getMixFormat()) == .supported)
            let bufferFrames = try client.getBufferSize()
            let recording = LoopbackRecording(capture)
            try loopback.start()

            let total = 1_000_000
            let counter = CounterSource(total: total)
            try client.start()
            let feeder = StreamThread {
                guard event.wait(timeoutMilliseconds: 2000) == .signaled,
                      let padding = try? client.getCurrentPadding() else { return false }
                return (try? counter.fill(render, frames: bufferFrames - padding)) ?? false
            }
            let deadline = ContinuousClock.now + .seconds(120)
            while try recording.drain() < total + 4800 && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(20))
            }
            feeder.stop()
            try client.stop()
            try loopback.stop()

            let left = recording.channel(0), right = recording.channel(1)
            let values = left.filter { $0 != 0 }
            #expect(values.count == total, "frames delivered: \(values.count)")
            var outOfOrder = 0
            for (index, value) in values.enumerated() where value != Float(index + 1) { outOfOrder += 1 }
            #expect(outOfOrder == 0, "frames lost, repeated or reordered")
            #expect(zip(left, right).allSatisfy { $0 == -$1 }, "the right channel mirrors the left")
            // Only the first packet after Start is marked discontinuous: no overrun.
            #expect(recording.discontinuities == [0])
        }
    }
}

/// Everything a loopback capture client returns, packet by packet.
final class LoopbackRecording: @unchecked Sendable {
    let capture: AudioCaptureClient
    private(set) var samples: [Float] = []
    /// Indices of packets flagged DATA_DISCONTINUITY.
    private(set) var discontinuities: [Int] = []
    private var packets = 0

    init(_ capture: AudioCaptureClient) { self.capture = capture }

    /// Reads every waiting packet; returns the frames recorded so far.
    func drain() throws -> Int {
        while let packet = try capture.getBuffer() {
            samples += packet.data.bindMemory(to: Float.self)
            if packet.flags.contains(.dataDiscontinuity) { discontinuities.append(packets) }
            packets += 1
            try capture.releaseBuffer(frames: packet.frames)
        }
        return samples.count / 2
    }

    func channel(_ index: Int) -> [Float] {
        stride(from: index, to: samples.count, by: 2).map { samples[$0] }
    }
}

/// A sine in 16-bit stereo, written through IAudioRenderClient.
final class ToneSource: @unchecked Sendable {
    let frequency: Double, rate: Double, amplitude: Double
    private var frame = 0

    init(frequency: Double, rate: Double, amplitude: Double) {
        self.frequency = frequency
        self.rate = rate
        self.amplitude = amplitude
    }

    func fill(_ render: AudioRenderClient, frames: Int) throws {
        guard frames > 0 else { return }
        let buffer = try render.getBuffer(frames: frames).bindMemory(to: Int16.self)
        for index in 0..<frames {
            let value = Int16((amplitude * sin(2 * .pi * frequency * Double(frame) / rate) * 32768).rounded())
            buffer[2 * index] = value
            buffer[2 * index + 1] = value
            frame += 1
        }
        try render.releaseBuffer(frames: frames)
    }
}

/// Float stereo frames 1, 2, 3, ... (left) and their negatives (right).
final class CounterSource: @unchecked Sendable {
    let total: Int
    private var next = 1
    var isDone: Bool { next > total }
    /// Frames written so far.
    var written: Int { next - 1 }

    init(total: Int) { self.total = total }

    /// Writes up to `frames` more frames; false once everything was written.
    func fill(_ render: AudioRenderClient, frames: Int) throws -> Bool {
        guard !isDone else { return false }
        let count = min(frames, total - next + 1)
        guard count > 0 else { return true }
        let buffer = try render.getBuffer(frames: count).bindMemory(to: Float.self)
        for index in 0..<count {
            buffer[2 * index] = Float(next)
            buffer[2 * index + 1] = -Float(next)
            next += 1
        }
        try render.releaseBuffer(frames: count)
        return true
    }
}

/// An event-driven shared render stream on `device` with the mix format and
/// its event set, and a loopback capture of the same endpoint (5 s buffer),
/// neither started: what the bit-exact counter tests play through.
func eventRenderWithLoopback(on device: MMDevice, bufferDuration: ReferenceTime) throws
    -> (client: AudioClient, render: AudioRenderClient, event: RealtimeEvent, loopback: AudioClient, capture: AudioCaptureClient) {
    let client = try device.activateAudioClient()
    let mix = try client.getMixFormat()
    try client.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: bufferDuration, format: mix)
    let event = try RealtimeEvent()
    try client.setEventHandle(event)
    let loopback = try device.activateAudioClient()
    try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 50_000_000, format: mix)
    return (client, try client.getRenderClient(), event, loopback, try loopback.getCaptureClient())
}
