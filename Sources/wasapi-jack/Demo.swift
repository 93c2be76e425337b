import ArgumentParser
import Foundation
import PCM
import Realtime
import SignalAnalysis
import WASAPI

/// `wasapi-jack demo`: the first thing a new user runs.
///
/// Lists the endpoints, plays a 44.1 kHz 16-bit 1 kHz tone through a
/// shared-mode, event-driven stream into the (48 kHz float) JACK graph while a
/// loopback capture of the same endpoint records it, then checks frequency,
/// level, latency and xruns and prints PASS or FAIL.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a tone through a shared-mode stream, record it by loopback, check it.",
        discussion: "Starts a private jackd (dummy backend) by itself when no server answers, and stops it on exit.")

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Seconds of tone.")
    var seconds: Double = 2

    func run() throws {
        try reportingFailures {
            // The first thing a new user runs: it needs no server of theirs.
            var options = serverOptions
            options.startServer = true
            let session = try ServerSession.open(options: options)
            defer { withExtendedLifetime(session) {} }  // a private server stops only when the demo ends
            let enumerator = session.enumerator
            print("JACK server '\(enumerator.serverName)' (\(enumerator.engineImplementation)): "
                  + "\(enumerator.sampleRate) Hz, period \(enumerator.periodFrames) frames")
            for device in try enumerator.enumAudioEndpoints(.all, stateMask: .active) {
                let name = device.friendlyName
                print("  \(device.dataFlow == .render ? "render " : "capture") \(name)  \(device.channelCount) ch  \(device.id)")
            }
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia)
            let result = try DemoRun(device: device, seconds: seconds, enumerator: enumerator).run()
            print(result.report)
            print(result.passed ? "PASS" : "FAIL")
            if !result.passed { throw ExitCode.failure }
        }
    }
}

/// One demo run on a render endpoint.
struct DemoRun {
    let device: MMDevice
    let seconds: Double
    /// Whose engine the feeder thread's "Pro Audio" registration goes through.
    let enumerator: MMDeviceEnumerator
    static let toneFrequency = 1000.0
    static let toneAmplitude = 0.5

    struct Result {
        var report: String
        var passed: Bool
    }

    func run() throws -> Result {
        let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
        let client = try device.activateAudioClient()
        try client.initialize(shareMode: .shared, streamFlags: [.eventCallback, .autoConvertPCM, .srcDefaultQuality],
                              bufferDuration: 500_000, format: format)
        let event = try RealtimeEvent()
        try client.setEventHandle(event)
        let render = try client.getRenderClient()
        let bufferFrames = try client.getBufferSize()

        let loopback = try device.activateAudioClient()
        let mix = try loopback.getMixFormat()
        try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 10_000_000, format: mix)
        let capture = try loopback.getCaptureClient()
        try loopback.start()
        print("playing a 1 kHz tone, \(format), through \(try client.portNames().joined(separator: ", "))")

        let totalFrames = Int(seconds * 44_100)
        let tone = ToneWriter(frequency: Self.toneFrequency, amplitude: Self.toneAmplitude, rate: 44_100, total: totalFrames)
        let xrunsBefore = device.xrunCount
        try tone.write(render, frames: bufferFrames)
        var recorded: [Float] = []
        var soundQPC: UInt64?
        let startQPC = trustedMonotonicNanoseconds() / 100
        try client.start()
        let feeder = Thread { [enumerator] in
            let characteristics = enterProAudio(enumerator, .proAudio)
            defer { try? characteristics?.revert() }
            while !tone.isDone, event.wait(timeoutMilliseconds: 2000) == .signaled,
                  let padding = try? client.getCurrentPadding(), (try? tone.write(render, frames: bufferFrames - padding)) != nil {}
        }
        feeder.start()
        let channels = Int(mix.channels)
        let wanted = Int(seconds * Double(mix.samplesPerSecond)) + Int(mix.samplesPerSecond) / 5
        let deadline = Date().addingTimeInterval(seconds + 10)
        while recorded.count / channels < wanted && Date() < deadline {
            usleep(10_000)
            while let packet = try capture.getBuffer() {
                let samples = packet.data.bindMemory(to: Float.self)
                if soundQPC == nil, let first = samples.firstIndex(where: { $0 != 0 }) {
                    soundQPC = packet.qpcPosition + UInt64(Double(first / channels) / Double(mix.samplesPerSecond) * 1e7)
                }
                recorded += samples
                try capture.releaseBuffer(frames: packet.frames)
            }
        }
        try client.stop()
        try loopback.stop()
        let xruns = device.xrunCount - xrunsBefore

        let left = stride(from: 0, to: recorded.count, by: channels).map { recorded[$0] }
        let rate = Double(mix.samplesPerSecond)
        let steady = SignalAnalysis.steadyPart(left, skip: Int(rate / 10), count: Int((seconds - 0.3) * rate))
        let measured: SignalAnalysis.Tone
        switch SignalAnalysis.measureTone(steady, rate: rate, minimumCount: Int(rate)) {
        case let .success(result): measured = result
        case let .failure(error):
            return Result(report: "no tone to check: \(error) (xruns during the run: \(xruns))", passed: false)
        }
        let frequency = measured.frequency
        let level = 20 * log10(max(measured.amplitude, 1e-9))
        let expectedLevel = 20 * log10(Self.toneAmplitude)
        let latency = try client.getStreamLatency()
        let latencyMilliseconds = soundQPC.map { Double(Int64($0) - Int64(startQPC)) / 10_000 } ?? .infinity
        let frequencyOK = abs(frequency - Self.toneFrequency) < 1
        let levelOK = abs(level - expectedLevel) < 0.2
        // Start takes effect at the next JACK cycle: within a period plus the stream's latency.
        let periodMilliseconds = Double(device.periodFrames) / rate * 1000
        let latencyOK = latencyMilliseconds <= periodMilliseconds + Double(latency) / 10_000 + 1
        let report = String(format: """
            frequency  %.2f Hz (want 1000 ± 1)          %@
            level      %.2f dBFS peak (want %.2f ± 0.2)   %@
            latency    %.2f ms from Start to the first sample in the graph (stream latency %.2f ms)   %@
            xruns      %d (reported by JACK during the run)
            """, frequency, frequencyOK ? "ok" : "WRONG", level, expectedLevel, levelOK ? "ok" : "WRONG",
            latencyMilliseconds, Double(latency) / 10_000, latencyOK ? "ok" : "WRONG", Int(xruns))
        return Result(report: report, passed: frequencyOK && levelOK && latencyOK)
    }
}

/// Writes a 16-bit stereo sine through IAudioRenderClient, `total` frames in all.
final class ToneWriter: @unchecked Sendable {
    let frequency: Double, amplitude: Double, rate: Double, total: Int
    private var frame = 0
    var isDone: Bool { frame >= total }

    init(frequency: Double, amplitude: Double, rate: Double, total: Int) {
        self.frequency = frequency
        self.amplitude = amplitude
        self.rate = rate
        self.total = total
    }

    func write(_ render: AudioRenderClient, frames: Int) throws {
        let count = min(frames, total - frame)
        guard count > 0 else { return }
        let buffer = try render.getBuffer(frames: count).bindMemory(to: Int16.self)
        for index in 0..<count {
            let value = Int16((amplitude * sin(2 * .pi * frequency * Double(frame) / rate) * 32767).rounded())
            buffer[2 * index] = value
            buffer[2 * index + 1] = value
            frame += 1
        }
        try render.releaseBuffer(frames: count)
    }
}
