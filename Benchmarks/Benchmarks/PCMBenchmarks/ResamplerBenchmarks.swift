import Benchmark
import CPeers
import PCM

/// The ``Resampler`` wrapper against a direct `src_process` call on the same
/// buffers, for every converter: stereo 44.1 -> 48 kHz in 64-frame output
/// periods, 64 periods (4096 output frames) per iteration. The wrapper adds
/// its input accounting (`inputFrames(forOutputFrames:)`) and bookkeeping;
/// the two should take the same time (target: wrapper / direct <= 1.05).
func resamplerBenchmarks() {
    let ratio = 48000.0 / 44100
    let period = 64, periodsPerIteration = 64
    let inputFrames = 44100
    let input = testSignal(samples: inputFrames * 2)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: period * 2)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds, warmupIterations: 20, maxDuration: .seconds(2), maxIterations: 1_000_000)

    for quality in ResamplerQuality.allCases {
        let resampler = UnsafeMutablePointer<Resampler>.allocate(capacity: 1)
        resampler.initialize(to: try! Resampler(quality: quality, channels: 2, ratio: ratio))

        Benchmark("resample \(quality.benchmarkName) wrapper 64x64 frames", configuration: configuration) { benchmark in
            var position = 0
            for _ in benchmark.scaledIterations {
                for _ in 0..<periodsPerIteration {
                    let wanted = resampler.pointee.inputFrames(forOutputFrames: period)
                    if position + wanted > inputFrames { position = 0 }
                    let (consumed, produced) = resampler.pointee.process(
                        input: input + position * 2, inputFrames: wanted, output: output, outputFrames: period)
                    position += consumed
                    blackHole(produced)
                }
            }
        }

        var error: Int32 = 0
        let state = src_new(quality.converterType, 2, &error)!
        // What a C caller offers per period in steady state.
        let offered = Int((Double(period) / ratio).rounded(.up)) + 1

        Benchmark("resample \(quality.benchmarkName) direct 64x64 frames", configuration: configuration) { benchmark in
            var position = 0
            for _ in benchmark.scaledIterations {
                for _ in 0..<periodsPerIteration {
                    if position + offered > inputFrames { position = 0 }
                    var data = SRC_DATA(data_in: input + position * 2, data_out: output,
                                        input_frames: offered, output_frames: period,
                                        input_frames_used: 0, output_frames_gen: 0,
                                        end_of_input: 0, src_ratio: ratio)
                    _ = src_process(state, &data)
                    position += data.input_frames_used
                    blackHole(data.output_frames_gen)
                }
            }
        }
    }
}

extension ResamplerQuality {
    /// A short name for benchmark labels.
    var benchmarkName: String {
        switch self {
        case .zeroOrderHold: "zoh"
        case .linear: "linear"
        case .sincFastest: "sinc-fastest"
        case .sincMedium: "sinc-medium"
        case .sincBest: "sinc-best"
        }
    }
}
