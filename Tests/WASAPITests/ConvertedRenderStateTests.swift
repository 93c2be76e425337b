import PCM
import SimulatedEngine
import Testing
import WASAPI

/// Render streams that resample do it on the application's thread (at
/// ReleaseBuffer), on the simulated engine where every cycle is exact:
/// GetCurrentPadding still counts the application's frames, GetBuffer's
/// room follows it, and IAudioClockAdjustment still sets the rate at which
/// the engine consumes them.
@Suite("Render conversion on the application's side (simulated engine)", .timeLimit(.minutes(15)))
struct ConvertedRenderStateTests {
    /// 44.1 kHz int16 stereo into the 48 kHz graph with sinc medium.
    static let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)

    @Test("44.1 kHz render: padding counts released frames at once, falls at 44.1 kHz while running, returns to exactly 0; GetBuffer's room is what padding leaves")
    func paddingInApplicationFrames() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM, .srcDefaultQuality],
                                  bufferDuration: 1_000_000, format: Self.format)
            let render = try client.getRenderClient()
            let bufferFrames = try client.getBufferSize()
            #expect(bufferFrames == 4410)
            try writeSilence(render, frames: 1000)
            #expect(try client.getCurrentPadding() == 1000, "converted frames still count until played")
            try writeSilence(render, frames: 500)
            #expect(try client.getCurrentPadding() == 1500)

            // Room is exactly the buffer less the padding.
            expectError(.AUDCLNT_E_BUFFER_TOO_LARGE) { _ = try render.getBuffer(frames: bufferFrames - 1500 + 1) }
            _ = try render.getBuffer(frames: bufferFrames - 1500)
            try render.releaseBuffer(frames: 0)

            try client.start()
            sim.runCycles(10)
            let consumed = 1500 - (try client.getCurrentPadding())
            // Ten 64-frame cycles at 48 kHz take 588 frames at 44.1 kHz, plus
            // the converter's look-ahead (taken with the first cycle's frames).
            let ideal = 10 * 64 * 44_100 / 48_000
            #expect((ideal...ideal + 64).contains(consumed), "consumed \(consumed) frames, ideally \(ideal)")
            let position = try client.getClock().getPosition().position / UInt64(Self.format.blockAlign)
            // Consumed, plus up to the period elapsed since the last cycle began,
            // less the converter's latency.
            #expect(position <= UInt64(consumed + 64) && position + 64 >= UInt64(consumed),
                    "the clock follows the frames consumed (\(position) vs \(consumed))")

            sim.runCycles(10)
            let next = 1500 - (try client.getCurrentPadding()) - consumed
            #expect(abs(next - 588) <= 1, "ten more cycles consumed \(next) frames: exactly the rate")

            sim.runCycles(40)
            #expect(try client.getCurrentPadding() == 0, "everything played: padding is exactly 0")
            _ = try render.getBuffer(frames: bufferFrames)
            try render.releaseBuffer(frames: bufferFrames, flags: .silent)
            #expect(try client.getCurrentPadding() == bufferFrames)
            try client.stop()
            #expect(try client.reset() == .S_OK)
            #expect(try client.getCurrentPadding() == 0, "Reset empties the converted frames too")
        }
    }

    @Test("RATEADJUST: frames released after SetSampleRate(47 kHz) are consumed at 47 kHz, then at 49 kHz after SetSampleRate(49 kHz)")
    func rateAdjustment() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [.rateAdjust], bufferDuration: 10_000_000,
                                  format: try client.getMixFormat())
            let render = try client.getRenderClient()
            let adjustment = try client.getClockAdjustment()
            try adjustment.setSampleRate(47_000)
            try writeSilence(render, frames: 4000)
            try client.start()
            sim.runCycles(10)
            let early = try client.getCurrentPadding()
            sim.runCycles(40)
            let slow = early - (try client.getCurrentPadding())
            // 40 cycles of 64 frames at 48 kHz consume 2506.7 frames at 47 kHz
            // (2560 unadjusted): padding falls at the adjusted rate.
            #expect(abs(slow - 2507) <= 1, "consumed \(slow) frames at 47 kHz")

            sim.runCycles(20)
            #expect(try client.getCurrentPadding() == 0)
            try adjustment.setSampleRate(49_000)
            try writeSilence(render, frames: 4000)
            sim.runCycles(10)
            let before = try client.getCurrentPadding()
            sim.runCycles(40)
            let fast = before - (try client.getCurrentPadding())
            #expect(abs(fast - 2613) <= 1, "consumed \(fast) frames at 49 kHz (2613.3)")
            try client.stop()
        }
    }
}

/// Capture streams that resample do it on the application's thread too
/// (before GetBuffer), on the simulated engine.
@Suite("Capture conversion on the application's side (simulated engine)", .timeLimit(.minutes(15)))
struct ConvertedCaptureStateTests {
    @Test("44.1 kHz capture: one packet per cycle at the stream's rate, contiguous positions, the first one discontinuous, padding the frames unread, the signal's level")
    func packetsInApplicationFrames() throws {
        try withSimulatedEngine { sim, enumerator in
            sim.setCaptureSignal(client: "system") { _, _ in 0.5 }
            let client = try enumerator.getDefaultAudioEndpoint(.capture, role: .console).activateAudioClient()
            let format = WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false)
            try client.initialize(shareMode: .shared, streamFlags: [.autoConvertPCM, .srcDefaultQuality],
                                  bufferDuration: 1_000_000, format: format)
            let capture = try client.getCaptureClient()
            try client.start()
            sim.runCycles(40)
            var packets: [CaptureBuffer] = []
            var unread = try client.getCurrentPadding()
            var last: Int16 = 0
            while let packet = try capture.getBuffer() {
                packets.append(packet)
                last = packet.data.load(fromByteOffset: (packet.frames - 1) * 4, as: Int16.self)
                try capture.releaseBuffer(frames: packet.frames)
                unread -= packet.frames
            }
            #expect(unread == 0, "padding was the frames of the packets waiting")
            let frames = packets.reduce(0) { $0 + $1.frames }
            // 40 cycles of 64 frames at 48 kHz are 2352 frames at 44.1 kHz, less the converter's look-ahead.
            #expect(frames <= 2352 && frames >= 2352 - 64, "\(frames) frames")
            #expect(packets.count >= 38 && packets.count <= 40, "one packet per cycle (\(packets.count))")
            #expect(packets.dropLast().allSatisfy { (58...59).contains($0.frames) } || packets.count < 2
                    || packets.dropFirst().dropLast().allSatisfy { (58...59).contains($0.frames) },
                    "58 or 59 frames a cycle: \(packets.map(\.frames))")
            #expect(packets.first?.flags.contains(.dataDiscontinuity) == true)
            #expect(packets.dropFirst().allSatisfy { !$0.flags.contains(.dataDiscontinuity) })
            for (earlier, later) in zip(packets, packets.dropFirst()) {
                #expect(later.devicePosition == earlier.devicePosition + UInt64(earlier.frames), "contiguous positions")
            }
            #expect(abs(Int(last) - 16_384) <= 2, "half scale arrives as half scale (\(last))")
            try client.stop()
        }
    }

    @Test("RATEADJUST capture: SetSampleRate(47 kHz) gives 47 kHz worth of frames per cycle")
    func rateAdjustment() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.capture, role: .console).activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [.rateAdjust], bufferDuration: 10_000_000,
                                  format: try client.getMixFormat())
            let capture = try client.getCaptureClient()
            try client.getClockAdjustment().setSampleRate(47_000)
            try client.start()
            sim.runCycles(10)
            while let packet = try capture.getBuffer() { try capture.releaseBuffer(frames: packet.frames) }
            sim.runCycles(60)
            var frames = 0
            while let packet = try capture.getBuffer() {
                frames += packet.frames
                try capture.releaseBuffer(frames: packet.frames)
            }
            // 60 cycles of 64 frames at 48 kHz are 3760 frames at 47 kHz (3840 unadjusted).
            #expect(abs(frames - 3760) <= 2, "\(frames) frames")
            try client.stop()
        }
    }
}
