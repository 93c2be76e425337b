import Foundation
import JackTestSupport
import PCM
import SignalAnalysis
import Testing
import WASAPI

/// Both conversions on the application's side against a real jackd: a
/// 44.1 kHz int16 tone rendered into the 48 kHz graph, recorded back by a
/// 44.1 kHz int16 loopback stream.
@Suite("Resampled render and capture on the application's side (jackd)", .timeLimit(.minutes(15)))
struct ConvertedCaptureTests {
    @Test("a 44.1 kHz tone through the 48 kHz graph comes back in a 44.1 kHz loopback at 1 kHz and -6 dBFS, packets contiguous")
    func resampledLoopback() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            let flags: StreamFlags = [.autoConvertPCM, .srcDefaultQuality]
            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: flags.union(.loopback), bufferDuration: 20_000_000,
                                    format: format)
            let capture = try loopback.getCaptureClient()
            try loopback.start()

            let client = try device.activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: 1_000_000, format: format)
            let render = try client.getRenderClient()
            let bufferFrames = try client.getBufferSize()
            let tone = ToneSource(frequency: 1000, rate: 44_100, amplitude: 0.5)
            try tone.fill(render, frames: bufferFrames)
            try client.start()

            var samples: [Float] = []
            var nextPosition: UInt64?
            var gaps = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while samples.count < 66_150 && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(10))
                try tone.fill(render, frames: bufferFrames - client.getCurrentPadding())
                while let packet = try capture.getBuffer() {
                    if let expected = nextPosition, packet.devicePosition != expected { gaps += 1 }
                    nextPosition = packet.devicePosition + UInt64(packet.frames)
                    let values = packet.data.bindMemory(to: Int16.self)
                    for frame in 0..<packet.frames { samples.append(Float(values[2 * frame]) / 32_768) }
                    try capture.releaseBuffer(frames: packet.frames)
                }
            }
            try client.stop()
            try loopback.stop()
            #expect(gaps == 0, "packet positions follow one another")
            let heard = Array(samples.drop { $0 == 0 })
            let steady = SignalAnalysis.steadyPart(heard, skip: 4_410, count: 44_100)
            #expect(steady.count == 44_100, "one second of tone after the first 0.1 s (\(heard.count) frames heard)")
            let frequency = SignalAnalysis.frequency(steady, rate: 44_100)
            let level = 20 * log10(max(SignalAnalysis.sineAmplitude(steady), 1e-9))
            #expect(abs(frequency - 1000) < 1, "frequency \(frequency)")
            #expect(abs(level - 20 * log10(0.5)) < 0.3, "level \(level) dBFS")
        }
    }
}
