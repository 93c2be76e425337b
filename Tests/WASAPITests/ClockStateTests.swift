import Foundation
import SimulatedEngine
import Testing
import WASAPI

/// IAudioClock on the simulated engine, where time is virtual: every figure
/// is exact, whatever the machine is doing.
@Suite("Audio clock (simulated engine)", .timeLimit(.minutes(15)))
struct ClockStateTests {
    @Test("shared render: frequency in bytes per second, device position in whole cycles, QPC from the engine's clock, a position that follows the frames consumed")
    func renderPositions() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.render, role: .console).activateAudioClient()
            let mix = try client.getMixFormat()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: mix)
            let clock = try client.getClock()
            let blockAlign = UInt64(mix.blockAlign)
            #expect(try clock.getFrequency() == UInt64(mix.averageBytesPerSecond))
            #expect(try clock.getPosition().position == 0, "nothing played before Start")

            let render = try client.getRenderClient()
            _ = try render.getBuffer(frames: 480)
            try render.releaseBuffer(frames: 480, flags: .silent)
            try client.start()
            sim.runCycles(3)
            let device = try clock.getDevicePosition()
            #expect(device.position == 3 * 64, "three 64-frame cycles moved")
            // The last cycle began one period before the engine's clock now.
            #expect(device.qpcPosition == (1_000_000_000 + (2 * 64 * 1_000_000_000 + 47_999) / 48_000) / 100)
            let now = try clock.getPosition()
            #expect(now.qpcPosition == sim.nowNanoseconds / 100)
            // The frames taken before the last cycle (128) plus the part of its
            // 64 played since it began (all of it, less the nanosecond the
            // clock rounds away: whole frames are reported). Never more than
            // written minus padding (192), as on Windows.
            #expect((191 * blockAlign...192 * blockAlign).contains(now.position), "\(now.position / blockAlign) frames")
            #expect(now.position % blockAlign == 0, "whole frames")
            #expect(try client.getCurrentPadding() == 480 - 3 * 64)

            sim.runCycles(2)
            #expect((319 * blockAlign...320 * blockAlign).contains(try clock.getPosition().position), "the position follows the cycles")
            #expect(try clock.getPosition().position >= now.position, "never backwards")
            #expect(try client.stop() == .S_OK)
            // Stopped: exactly written minus padding, and it stays there.
            let stopped = try clock.getPosition().position
            #expect(stopped == UInt64(480 - (try client.getCurrentPadding())) * blockAlign)
            sim.advanceClock(nanoseconds: 50_000_000)
            sim.runCycles(4)
            #expect(try clock.getPosition().position == stopped, "no interpolation past Stop")
        }
    }

    @Test("capture: packets carry the device position of their first frame and the QPC of their cycle")
    func capturePackets() throws {
        try withSimulatedEngine { sim, enumerator in
            let client = try enumerator.getDefaultAudioEndpoint(.capture, role: .console).activateAudioClient()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 1_000_000, format: try client.getMixFormat())
            let capture = try client.getCaptureClient()
            try client.start()
            var expectedPosition: UInt64 = 0
            for cycle in 0..<4 {
                let cycleStart = sim.nowNanoseconds
                sim.runCycles(1)
                let packet = try #require(try capture.getBuffer(), "cycle \(cycle) made a packet")
                #expect(packet.frames == 64)
                #expect(packet.devicePosition == expectedPosition)
                #expect(packet.qpcPosition == cycleStart / 100)
                #expect(packet.flags.contains(.dataDiscontinuity) == (cycle == 0), "only the first packet after Start")
                try capture.releaseBuffer(frames: packet.frames)
                expectedPosition += 64
            }
        }
    }
}
