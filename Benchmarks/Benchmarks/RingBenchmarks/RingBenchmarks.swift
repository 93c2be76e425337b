import Benchmark
import CPeers
import Glibc
import Realtime

// Our FrameRing against JACK's jack_ringbuffer, moving the same stereo float
// periods in the same run. Each scaled iteration writes one 64-frame period and
// reads it back; multiply the throughput by 64 for frames per second. Compare
// the pairs: "copy" uses the copying calls of both rings, "in place" the
// two-segment vectors with the producer writing its samples straight into the
// ring. Both rings start 17 frames off, so one period in 16 wraps.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2))

    Benchmark("copy: FrameRing write + read") { benchmark in
        let ring = FrameRing(capacity: Traffic.ringFrames, bytesPerFrame: Traffic.bytesPerFrame)
        let buffers = PeriodBuffers()
        misalign(ring, buffers)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = ring.write(from: buffers.source, frames: Traffic.periodFrames)
            _ = ring.read(into: buffers.destination, frames: Traffic.periodFrames)
        }
        benchmark.stopMeasurement()
        check(buffers, gain: 1, benchmark)
    }

    Benchmark("copy: jack_ringbuffer write + read") { benchmark in
        let ring = makeJackRing()
        defer { jack_ringbuffer_free(ring) }
        let buffers = PeriodBuffers()
        misalign(ring, buffers)
        let source = buffers.source.assumingMemoryBound(to: CChar.self)
        let destination = buffers.destination.assumingMemoryBound(to: CChar.self)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = jack_ringbuffer_write(ring, source, Traffic.periodBytes)
            _ = jack_ringbuffer_read(ring, destination, Traffic.periodBytes)
        }
        benchmark.stopMeasurement()
        check(buffers, gain: 1, benchmark)
    }

    Benchmark("in place: FrameRing acquire/commit") { benchmark in
        let ring = FrameRing(capacity: Traffic.ringFrames, bytesPerFrame: Traffic.bytesPerFrame)
        let buffers = PeriodBuffers()
        misalign(ring, buffers)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            movePeriodInPlace(ring, buffers)
        }
        benchmark.stopMeasurement()
        check(buffers, gain: Traffic.gain, benchmark)
    }

    Benchmark("in place: jack_ringbuffer vectors + advance") { benchmark in
        let vector = UnsafeMutablePointer<jack_ringbuffer_data_t>.allocate(capacity: 2)
        vector.initialize(repeating: jack_ringbuffer_data_t(), count: 2)
        defer { vector.deallocate() }
        let jack = JackInPlace(ring: makeJackRing(), vector: vector)
        defer { jack_ringbuffer_free(jack.ring) }
        let buffers = PeriodBuffers()
        misalign(jack.ring, buffers)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            jack.movePeriod(buffers)
        }
        benchmark.stopMeasurement()
        check(buffers, gain: Traffic.gain, benchmark)
    }
}

/// A jack_ringbuffer of `Traffic.ringFrames` frames (a power of two in bytes).
private func makeJackRing() -> UnsafeMutablePointer<jack_ringbuffer_t> {
    jack_ringbuffer_create(Traffic.ringFrames * Traffic.bytesPerFrame)
}

/// Moves `Traffic.misalignment` frames through the ring so that periods wrap.
private func misalign(_ ring: borrowing FrameRing, _ buffers: PeriodBuffers) {
    _ = ring.write(from: buffers.source, frames: Traffic.misalignment)
    _ = ring.read(into: buffers.destination, frames: Traffic.misalignment)
}

private func misalign(_ ring: UnsafeMutablePointer<jack_ringbuffer_t>, _ buffers: PeriodBuffers) {
    let bytes = Traffic.misalignment * Traffic.bytesPerFrame
    _ = jack_ringbuffer_write(ring, buffers.source.assumingMemoryBound(to: CChar.self), bytes)
    _ = jack_ringbuffer_read(ring, buffers.destination.assumingMemoryBound(to: CChar.self), bytes)
}

/// Fails the benchmark unless the last period arrived intact, so that a fast
/// result is never a broken one.
private func check(_ buffers: PeriodBuffers, gain: Float, _ benchmark: Benchmark) {
    if !buffers.receivedMatches(gain: gain) {
        benchmark.error("the last period received differs from the one sent")
    }
}
