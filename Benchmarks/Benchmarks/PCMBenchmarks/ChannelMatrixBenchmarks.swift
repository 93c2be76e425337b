import Benchmark
import PCM

/// The two channel-matrix passes of a stream: render (interleaved stream ->
/// planar ports) and capture (planar ports -> interleaved stream).
func channelMatrixBenchmarks() {
    let frames = bufferFrames
    let surround = testSignal(samples: frames * 6)
    let ports = (0..<6).map { _ in testSignal(samples: frames) }
    let portPointers = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: 6)
    let constPortPointers = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 6)
    for (index, port) in ports.enumerated() {
        portPointers[index] = port
        constPortPointers[index] = UnsafePointer(port)
    }
    let interleaved = UnsafeMutablePointer<Float>.allocate(capacity: frames * 2)

    // The matrices live in stable memory, as in the process callback's state.
    let downmix = UnsafeMutablePointer<ChannelMatrix>.allocate(capacity: 1)
    downmix.initialize(to: ChannelMatrix(sourceChannels: 6, destinationChannels: 2))
    let stereo = UnsafeMutablePointer<ChannelMatrix>.allocate(capacity: 1)
    stereo.initialize(to: ChannelMatrix(sourceChannels: 2, destinationChannels: 2))

    Benchmark("matrix render 5.1 interleaved -> stereo planar x\(frames)") { benchmark in
        for _ in benchmark.scaledIterations {
            downmix.pointee.mixInterleavedToPlanar(surround, frames: frames, into: portPointers)
            blackHole(portPointers[0][frames - 1])
        }
    }

    Benchmark("matrix capture stereo planar -> stereo interleaved x\(frames)") { benchmark in
        for _ in benchmark.scaledIterations {
            stereo.pointee.mixPlanarToInterleaved(constPortPointers, frames: frames, into: interleaved)
            blackHole(interleaved[frames * 2 - 1])
        }
    }
}
