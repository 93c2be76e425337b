import Foundation
import JackEngine
import JackTestSupport
import PCM
import Realtime
import Synchronization
import Testing
import WASAPI

/// Shared-mode capture and timer-driven streams against a real jackd.
@Suite("Shared-mode capture and timer-driven streams", .timeLimit(.minutes(15)))
struct SharedCaptureTests {
    /// A timer-driven render stream (the application polls GetCurrentPadding)
    /// delivers a counter bit-exact to a timer-driven loopback capture.
    @Test("timer-driven render and capture: a counter arrives bit-exact")
    func timerDriven() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia)
            let client = try device.activateAudioClient()
            let mix = try client.getMixFormat()
            try client.initialize(shareMode: .shared, streamFlags: [], bufferDuration: 500_000, format: mix)
            let render = try client.getRenderClient()
            let bufferFrames = try client.getBufferSize()
            #expect(bufferFrames == 2400, "50 ms at 48 kHz")
            let loopback = try device.activateAudioClient()
            try loopback.initialize(shareMode: .shared, streamFlags: [.loopback], bufferDuration: 20_000_000, format: mix)
            let recording = LoopbackRecording(try loopback.getCaptureClient())
            try loopback.start()

            let total = 96_000
            let counter = CounterSource(total: total)
            _ = try counter.fill(render, frames: bufferFrames)
            try client.start()
            let deadline = ContinuousClock.now + .seconds(60)
            while try recording.drain() < total + 4800 && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(10))
                _ = try counter.fill(render, frames: bufferFrames - client.getCurrentPadding())
            }
            try client.stop()
            try loopback.stop()
            let values = recording.channel(0).filter { $0 != 0 }
            #expect(values == (1...total).map(Float.init))
        }
    }

    /// The capture endpoint's packets: first one flagged discontinuous, then
    /// contiguous positions, rising timestamps, one packet per JACK period.
    @Test("capture packets have contiguous positions, rising QPC times and one discontinuity at start")
    func capturePackets() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
            let client = try device.activateAudioClient()
            let format = WaveFormat(.int16, sampleRate: 48_000, channels: 2, extensible: false)
            try client.initialize(shareMode: .shared, streamFlags: [.eventCallback], bufferDuration: 10_000_000, format: format)
            let event = try RealtimeEvent()
            try client.setEventHandle(event)
            let capture = try client.getCaptureClient()
            #expect(try capture.getBuffer() == nil, "AUDCLNT_S_BUFFER_EMPTY before Start")
            try client.start()
            var packets: [(frames: Int, position: UInt64, qpc: UInt64, flags: BufferFlags)] = []
            while packets.count < 200 {
                #expect(event.wait(timeoutMilliseconds: 2000) == .signaled)
                while try capture.getNextPacketSize() > 0, let packet = try capture.getBuffer() {
                    #expect(packet.data.count == packet.frames * 4)
                    packets.append((packet.frames, packet.devicePosition, packet.qpcPosition, packet.flags))
                    try capture.releaseBuffer(frames: packet.frames)
                }
            }
            try client.stop()
            #expect(packets.allSatisfy { $0.frames == 64 })
            #expect(packets[0].flags.contains(.dataDiscontinuity))
            #expect(packets.dropFirst().allSatisfy { !$0.flags.contains(.dataDiscontinuity) })
            for (previous, next) in zip(packets, packets.dropFirst()) {
                #expect(next.position == previous.position + UInt64(previous.frames))
                #expect(next.qpc > previous.qpc)
            }
        }
    }
}

/// A server period change while a stream plays.
@Suite("Period changes while streams run", .timeLimit(.minutes(15)))
struct PeriodChangeTests {
    /// The server's period goes from 64 to 256 frames and back in the middle
    /// of a counter signal: nothing lost or repeated, GetDevicePeriod follows.
    @Test("a buffer-size change during playback loses no frame and GetDevicePeriod follows it")
    func periodChange() async throws {
        try await withJackServer { server in
            let enumerator = try MMDeviceEnumerator(serverName: server.name)
            let device = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
            let (client, render, event, loopback, capture) = try eventRenderWithLoopback(on: device, bufferDuration: 1_000_000)
            let bufferFrames = try client.getBufferSize()
            let recording = LoopbackRecording(capture)
            try loopback.start()
            #expect(try client.getDevicePeriod().defaultPeriod == 13_334, "64 frames at 48 kHz")

            let total = 144_000
            let counter = CounterSource(total: total)
            // The feeder waits at a gate until each change was made, so the
            // changes fall inside the signal however late this thread runs.
            let allowed = Atomic(60_000)
            try client.start()
            let feeder = StreamThread {
                guard event.wait(timeoutMilliseconds: 2000) == .signaled,
                      let padding = try? client.getCurrentPadding() else { return false }
                let room = min(bufferFrames - padding, allowed.load(ordering: .acquiring) - counter.written)
                guard room > 0 else { return true }
                return (try? counter.fill(render, frames: room)) ?? false
            }
            let engine = try JackAudioEngine.shared(serverName: server.name)
            let deadline = ContinuousClock.now + .seconds(60)
            var changedUp = false, changedBack = false
            while ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(20))
                _ = try recording.drain()
                // The newest value heard (left channel; silence is 0).
                let samples = recording.samples
                let heard = stride(from: samples.count - 2, through: 0, by: -2).lazy.map { samples[$0] }.first { $0 != 0 } ?? 0
                if !changedUp && heard >= 48_000 {
                    #expect(try engine.setBufferSize(256))
                    changedUp = true
                    try await pause(for: .milliseconds(200))
                    #expect(try client.getDevicePeriod().defaultPeriod == 53_334, "256 frames at 48 kHz")
                    allowed.store(110_000, ordering: .releasing)
                } else if changedUp && !changedBack && heard >= 96_000 {
                    #expect(try engine.setBufferSize(64))
                    changedBack = true
                    allowed.store(total, ordering: .releasing)
                } else if changedBack && heard >= Float(total) {
                    break
                }
            }
            feeder.stop()
            try client.stop()
            #expect(changedUp && changedBack)
            let values = recording.channel(0).filter { $0 != 0 }
            #expect(values.count == total)
            #expect(values == (1...total).map(Float.init), "frames lost, repeated or reordered across the period changes")
        }
    }
}
