import Benchmark
import AudioGraph
import CPeers
import PCM
import Realtime

/// The application-side conversion of a resampled render stream: what
/// ReleaseBuffer costs the application's thread for an int16 stereo 44.1 kHz
/// stream opened with AUTOCONVERTPCM + SRC_DEFAULT_QUALITY (sinc medium),
/// one 10 ms block (441 frames) per call.
///
/// Ours: ``RenderConverter/pump(from:into:)``, from the stream's ring into the
/// engine ring (decode, resample, ring bookkeeping, the padding mark).
/// Peer: what a C application does with libsamplerate itself on the same
/// block: `src_short_to_float_array` then one `src_process`, same converter
/// and ratio. converter / src_process is the wrapper's overhead.
///
/// Outside the measured region the block is written into the stream's ring
/// and the engine ring is emptied, as the process thread would.
func converterBenchmarks() {
    let block = 441
    let ratio = Cycle.engineRate / 44_100
    let quality = ResamplerQuality.forStreamFlags(autoConvertPCM: true, defaultQuality: true)!
    let blockBytes = block * 2 * MemoryLayout<Int16>.size
    let floats = UnsafeMutablePointer<Float>.allocate(capacity: block * 2)
    fillTestSignal(floats, count: block * 2, phase: 0)
    let signal = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
    SampleConversion.encode(.int16, from: floats, into: signal, samples: block * 2)

    let ring = UnsafeMutablePointer<FrameRing>.allocate(capacity: 1)
    ring.initialize(to: FrameRing(capacity: 4 * block, bytesPerFrame: 4))
    let engineRing = UnsafeMutablePointer<FrameRing>.allocate(capacity: 1)
    engineRing.initialize(to: FrameRing(capacity: 4096, bytesPerFrame: 8))
    let converter = UnsafeMutablePointer<RenderConverter>.allocate(capacity: 1)
    converter.initialize(to: try! RenderConverter(sampleFormat: .int16, channels: 2, streamRate: 44_100,
                                                  engineRate: Cycle.engineRate, quality: quality))

    Benchmark("convert x441: RenderConverter int16 44.1k -> 48k \(quality)") { benchmark in
        _ = ring.pointee.write(from: signal, frames: block)
        engineRing.pointee.commitRead(engineRing.pointee.readableFrames())

        benchmark.startMeasurement()
        let taken = converter.pointee.pump(from: ring, into: engineRing)
        benchmark.stopMeasurement()

        if taken != block { benchmark.error("took \(taken) of \(block) frames") }
    }

    var error: Int32 = 0
    let state = src_new(quality.converterType, 2, &error)!
    let output = UnsafeMutablePointer<Float>.allocate(capacity: 2048 * 2)

    Benchmark("convert x441: src_process \(quality) (peer)") { benchmark in
        benchmark.startMeasurement()
        src_short_to_float_array(signal.assumingMemoryBound(to: Int16.self), floats, Int32(block * 2))
        var data = SRC_DATA(data_in: floats, data_out: output, input_frames: block, output_frames: 2048,
                            input_frames_used: 0, output_frames_gen: 0, end_of_input: 0, src_ratio: ratio)
        let status = src_process(state, &data)
        benchmark.stopMeasurement()

        blackHole(data.output_frames_gen)
        if status != 0 || data.input_frames_used != block { benchmark.error("src_process: \(status), used \(data.input_frames_used)") }
    }
}
