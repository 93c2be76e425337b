import AudioGraph
import JackEngine
import JackTestSupport
import Realtime
import Testing
import Glibc

/// Moves audio through a real jackd: a render slot's ring feeds output ports,
/// which are connected to input ports whose capture slot fills a second ring.
/// Both slots belong to one client: between two clients, a cycle in which one
/// of them is late (an xrun, common on a loaded 2-core VM) drops that period
/// for the other, which is JACK's behaviour and would hide what is tested here.
@Suite("Audio through a real JACK graph", .timeLimit(.minutes(15)))
struct AudioThroughJackTests {
    static let channels = 2

    /// Frame `n` of the test signal: a 997 Hz tone on channel 0 and a counter
    /// (exactly representable in Float up to 2^24) on channel 1.
    static func sample(frame: Int, channel: Int) -> Float {
        if channel == 1 { return Float(frame + 1) }
        let phase = 2 * Double.pi * 997 * Double(frame) / 48_000
        return Float(0.5 * sin(phase))
    }

    @Test("a tone written through the ring arrives sample-exact through connected ports")
    func toneArrivesSampleExact() async throws {
        try await withJackServer { server in
            let source = try JackClient(name: "loop", serverName: server.name)
            defer { source.close() }

            let outputs = try (1...Self.channels).map { try source.registerPort("out_\($0)", direction: .output) }
            let inputs = try (1...Self.channels).map { try source.registerPort("in_\($0)", direction: .input) }
            let frameBytes = Self.channels * MemoryLayout<Float>.size
            let renderRing = RealtimeBox(FrameRing(capacity: 8192, bytesPerFrame: frameBytes))
            let captureRing = RealtimeBox(FrameRing(capacity: 16_384, bytesPerFrame: frameBytes))
            let renderSlot = RealtimeBox(StreamSlot(direction: .render, ports: outputs, ring: renderRing.pointer))
            let captureSlot = RealtimeBox(StreamSlot(direction: .capture, ports: inputs, ring: captureRing.pointer))
            let event = try RealtimeEvent()
            captureSlot.pointer.pointee.eventDescriptor.store(event.fileDescriptor, ordering: .releasing)
            let renderIndex = try source.install(renderSlot)
            let captureIndex = try source.install(captureSlot)
            try source.activate()
            for (output, input) in zip(outputs, inputs) { try source.connect(output.name, to: input.name) }
            captureSlot.pointer.pointee.running.store(true, ordering: .releasing)
            renderSlot.pointer.pointee.running.store(true, ordering: .releasing)

            let total = 48_000
            var written = 0
            var received: [Float] = []
            var wakeups = 0
            while received.count < (total + 4096) * Self.channels && wakeups < 10_000 {
                written += writeSignal(into: renderRing.pointer, from: written, upTo: total)
                #expect(event.wait(timeoutMilliseconds: 2000) == .signaled)
                wakeups += 1
                received += drain(captureRing.pointer)
            }
            source.uninstall(renderIndex)
            source.uninstall(captureIndex)

            // Silence precedes the signal (the ports carry zeros before it starts);
            // from the first counter sample on, every frame must be exact and in order.
            let firstFrame = try #require(stride(from: 1, to: received.count, by: Self.channels)
                .first { received[$0] != 0 }.map { $0 / Self.channels })
            let arrived = received.count / Self.channels - firstFrame
            #expect(arrived >= total)
            var mismatches = 0
            for frame in 0..<total where frame + firstFrame < received.count / Self.channels {
                for channel in 0..<Self.channels
                where received[(frame + firstFrame) * Self.channels + channel] != Self.sample(frame: frame, channel: channel) {
                    mismatches += 1
                }
            }
            #expect(mismatches == 0)
            #expect(captureRing.pointer.pointee.overrunFrames() == 0)
            // After the signal ends, the render side plays silence and counts the underrun.
            #expect(received[(firstFrame + total) * Self.channels + 1] == 0)
            #expect(renderRing.pointer.pointee.underrunFrames() > 0)
        }
    }

    private func writeSignal(into ring: UnsafeMutablePointer<FrameRing>, from start: Int, upTo total: Int) -> Int {
        let region = ring.pointee.acquireWrite(maxFrames: total - start)
        var frame = start
        for (segment, frames) in [(region.first, region.firstFrames), (region.second, region.secondFrames)] {
            let samples = segment.bindMemory(to: Float.self)
            for index in 0..<frames {
                for channel in 0..<Self.channels {
                    samples[index * Self.channels + channel] = Self.sample(frame: frame, channel: channel)
                }
                frame += 1
            }
        }
        ring.pointee.commitWrite(region.frames())
        return region.frames()
    }

    private func drain(_ ring: UnsafeMutablePointer<FrameRing>) -> [Float] {
        let frames = ring.pointee.readableFrames()
        var samples = [Float](repeating: 0, count: frames * Self.channels)
        let read = samples.withUnsafeMutableBytes { ring.pointee.read(into: $0.baseAddress!, frames: frames) }
        return Array(samples.prefix(read * Self.channels))
    }
}
