import Benchmark
import Foundation
import PCM

// The shared-mode converter's kernels, one benchmark each.
//
// Every iteration handles one buffer; the buffer's frame count is in the
// benchmark's name, so frames per second = throughput x frames. Every
// benchmark also counts mallocs in the measured loop: the real-time kernels
// must show 0.
//
// Run from Benchmarks/:
//   swift package --scratch-path .build-pcm --allow-writing-to-package-directory \
//       benchmark --target PCMBenchmarks
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(1),
        maxIterations: 1_000_000)

    conversionBenchmarks()
    channelMatrixBenchmarks()
    resamplerBenchmarks()
}

/// Interleaved stereo frames per conversion and channel-matrix buffer.
let bufferFrames = 4096

/// A deterministic test signal in [-1, 1): a two-tone mix, so that no kernel
/// sees a constant or all-zero input.
func testSignal(samples: Int) -> UnsafeMutablePointer<Float> {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: samples)
    for index in 0..<samples {
        buffer[index] = Float(0.6 * sin(Double(index) * 0.031) + 0.3 * sin(Double(index) * 0.0071))
    }
    return buffer
}
