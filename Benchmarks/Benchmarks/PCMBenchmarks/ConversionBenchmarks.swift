import Benchmark
import PCM

/// decode (format -> float) and encode (float -> format) of one buffer of
/// interleaved stereo, for every sample format; int16 and uint8 also with dither.
func conversionBenchmarks() {
    let samples = bufferFrames * 2
    let floats = testSignal(samples: samples)
    let decoded = UnsafeMutablePointer<Float>.allocate(capacity: samples)

    for format in SampleFormat.allCases {
        let encoded = UnsafeMutableRawPointer.allocate(byteCount: samples * format.bytesPerSample, alignment: 16)
        SampleConversion.encode(format, from: floats, into: encoded, samples: samples)

        Benchmark("decode \(format.benchmarkName) stereo x\(bufferFrames)") { benchmark in
            for _ in benchmark.scaledIterations {
                SampleConversion.decode(format, from: encoded, into: decoded, samples: samples)
                blackHole(decoded[samples - 1])
            }
        }

        Benchmark("encode \(format.benchmarkName) stereo x\(bufferFrames)") { benchmark in
            for _ in benchmark.scaledIterations {
                SampleConversion.encode(format, from: floats, into: encoded, samples: samples)
                blackHole(encoded.load(as: UInt8.self))
            }
        }

        guard format == .int16 || format == .uint8 else { continue }
        Benchmark("encode \(format.benchmarkName) dithered stereo x\(bufferFrames)") { benchmark in
            var dither = TPDFDither()
            for _ in benchmark.scaledIterations {
                SampleConversion.encode(format, from: floats, into: encoded, samples: samples, dither: &dither)
                blackHole(encoded.load(as: UInt8.self))
            }
        }
    }
}

extension SampleFormat {
    /// A short name for benchmark labels.
    var benchmarkName: String {
        switch self {
        case .uint8: "uint8"
        case .int16: "int16"
        case .int24Packed: "int24packed"
        case .int24In32: "int24in32"
        case .int32: "int32"
        case .float32: "float32"
        }
    }
}
