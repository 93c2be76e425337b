import Glibc
import AudioGraph
import JackEngine
import PCM
import Realtime

/// The JACK cycle under test: a 64-frame period at 48 kHz (1333 µs), stereo
/// endpoints (two ports per stream).
enum Cycle {
    static let frames = 64
    static let engineRate = 48_000.0
    static let portChannels = 2
    /// The period's length, the budget every figure is a share of.
    static let periodMicroseconds = Double(frames) / engineRate * 1_000_000
    /// Frames per stream ring: 64 engine periods of native frames.
    static let ringFrames = 4096
}

/// How a bank's streams get from their rings to their ports (or back). Both
/// move float32 stereo at the engine's 48 kHz: what the process thread does
/// for every shared stream, resampled ones included (they convert on the
/// application's thread, see ConverterBenchmarks).
enum StreamWork: Sendable {
    /// Our ``StreamPipeline``: what `StreamSlot` runs in the process callback
    /// (volume and channel matrix on a stereo endpoint).
    case pipeline
    /// The peer: float stereo frames (de)interleaved between ring and planes
    /// by a plain loop, as a hand-written C JACK client does. No conversion,
    /// no matrix, no volume.
    case plainCopy

    /// Bytes of one stream frame in the ring.
    var bytesPerFrame: Int { 2 * MemoryLayout<Float>.size }

    /// The pipeline configuration `StreamResources` builds for a native
    /// stream on a stereo endpoint.
    static func configuration(_ direction: StreamSlot.Direction) -> StreamPipeline.Configuration {
        StreamPipeline.Configuration(direction: direction, sampleFormat: .float32, streamChannels: 2,
                                     streamMask: .stereo, portChannels: Cycle.portChannels, portMask: .stereo)
    }
}

/// `count` streams of one kind and direction, with everything the process
/// callback touches allocated up front, as on the engine's control path:
/// per stream a ``FrameRing``, a ``StreamPipeline`` at a stable address
/// (none for the plain-copy peer) and two port planes.
///
/// The planes stand in for `jack_port_get_buffer`: JACK sums the outputs
/// connected to an input port itself, so every render stream writes planes of
/// its own and never mixes into another's; capture streams get planes of
/// their own as well.
///
/// A cycle is ``renderCycle()`` or ``captureCycle()``: every stream's work
/// for one period, in stream order, as the process callback walks its slots.
/// ``prepareRender()`` and ``prepareCapture()`` play the application's side
/// between cycles (top up or drain the rings), outside the measured region.
final class StreamBank: @unchecked Sendable {
    let count: Int
    let direction: StreamSlot.Direction
    let work: StreamWork

    /// `count` rings, contiguous.
    private let rings: UnsafeMutablePointer<FrameRing>
    /// `count` pipelines, contiguous; nil for the plain-copy peer.
    private let pipelines: UnsafeMutablePointer<StreamPipeline>?
    /// Stream `i`'s ports are entries `2i` and `2i + 1`.
    private let planes: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// The same planes as read-only pointers, for capture.
    private let inputPlanes: UnsafeMutablePointer<UnsafePointer<Float>>
    private let planeStorage: UnsafeMutablePointer<Float>
    /// One ring's worth of the application's samples, encoded in the stream's
    /// format: what render streams are topped up with.
    private let signal: UnsafeMutableRawPointer
    private let bytesPerFrame: Int

    /// Builds the streams and runs a few cycles, so that the measured ones
    /// find warm caches. Control path: allocates.
    init(count: Int, direction: StreamSlot.Direction, work: StreamWork) {
        self.count = count
        self.direction = direction
        self.work = work
        bytesPerFrame = work.bytesPerFrame

        rings = .allocate(capacity: count)
        for stream in 0..<count {
            (rings + stream).initialize(to: FrameRing(capacity: Cycle.ringFrames, bytesPerFrame: bytesPerFrame))
        }
        if case .pipeline = work {
            let pipelines = UnsafeMutablePointer<StreamPipeline>.allocate(capacity: count)
            for stream in 0..<count {
                (pipelines + stream).initialize(to: StreamPipeline(StreamWork.configuration(direction)))
            }
            self.pipelines = pipelines
        } else {
            pipelines = nil
        }

        let planeCount = count * Cycle.portChannels
        planeStorage = .allocate(capacity: planeCount * Cycle.frames)
        planes = .allocate(capacity: planeCount)
        inputPlanes = .allocate(capacity: planeCount)
        for plane in 0..<planeCount {
            let samples = planeStorage + plane * Cycle.frames
            fillTestSignal(samples, count: Cycle.frames, phase: plane)
            planes[plane] = samples
            inputPlanes[plane] = UnsafePointer(samples)
        }

        // Two-tone interleaved float stereo, as the application writes it.
        let samples = Cycle.ringFrames * 2
        signal = .allocate(byteCount: Cycle.ringFrames * bytesPerFrame, alignment: 16)
        fillTestSignal(signal.assumingMemoryBound(to: Float.self), count: samples, phase: 0)

        for _ in 0..<8 {
            if direction == .render {
                prepareRender()
                _ = renderCycle()
            } else {
                prepareCapture()
                _ = captureCycle()
            }
        }
    }

    deinit {
        if let pipelines {
            pipelines.deinitialize(count: count)
            pipelines.deallocate()
        }
        rings.deinitialize(count: count)
        rings.deallocate()
        planes.deallocate()
        inputPlanes.deallocate()
        planeStorage.deallocate()
        signal.deallocate()
    }

    // MARK: The application's side (not measured)

    /// Tops every ring up to full, as render applications keep their buffers.
    func prepareRender() {
        for stream in 0..<count {
            let ring = rings + stream
            _ = ring.pointee.write(from: signal, frames: ring.pointee.writableFrames())
        }
    }

    /// Empties every ring, as capture applications drain theirs.
    func prepareCapture() {
        for stream in 0..<count {
            let ring = rings + stream
            ring.pointee.commitRead(ring.pointee.readableFrames())
        }
    }

    // MARK: The process callback's side (measured)

    /// One period for every render stream: ring -> ports.
    /// - Returns: the engine frames played as silence because a ring ran dry
    ///   (0 unless the bank is misused).
    @inline(never)
    func renderCycle() -> Int {
        var shortfall = 0
        if let pipelines {
            for stream in 0..<count {
                let result = pipelines[stream].render(
                    from: rings + stream, into: UnsafePointer(planes + stream * Cycle.portChannels),
                    frames: Cycle.frames)
                shortfall &+= result.shortfall
            }
        } else {
            for stream in 0..<count {
                shortfall &+= deinterleave(from: rings + stream, into: planes + stream * Cycle.portChannels)
            }
        }
        return shortfall
    }

    /// One period for every capture stream: ports -> ring.
    /// - Returns: stream frames dropped because a ring was full (0 unless the
    ///   bank is misused).
    @inline(never)
    func captureCycle() -> Int {
        var dropped = 0
        if let pipelines {
            for stream in 0..<count {
                let result = pipelines[stream].capture(
                    from: inputPlanes + stream * Cycle.portChannels, frames: Cycle.frames,
                    into: rings + stream)
                dropped &+= result.dropped
            }
        } else {
            for stream in 0..<count {
                dropped &+= interleave(from: inputPlanes + stream * Cycle.portChannels, into: rings + stream)
            }
        }
        return dropped
    }

    /// The first sample of every plane, so the optimiser cannot drop the work.
    func planeChecksum() -> Float {
        var sum: Float = 0
        for plane in 0..<count * Cycle.portChannels { sum += planes[plane][0] }
        return sum
    }
}

// MARK: The plain-copy peer

/// Splits one period of interleaved float stereo from the ring into two
/// planes, silence for what the ring lacks. Returns the frames of silence.
@inline(__always)
private func deinterleave(from ring: UnsafeMutablePointer<FrameRing>,
                          into planes: UnsafeMutablePointer<UnsafeMutablePointer<Float>>) -> Int {
    let left = planes[0], right = planes[1]
    let region = ring.pointee.acquireRead(maxFrames: Cycle.frames)
    // The region wraps at most once: its second segment continues the first.
    deinterleave(region.first.baseAddress, frames: region.firstFrames, into: left, right)
    deinterleave(region.second.baseAddress, frames: region.secondFrames,
                 into: left + region.firstFrames, right + region.firstFrames)
    let frames = region.frames()
    ring.pointee.commitRead(frames)
    for index in frames..<Cycle.frames {
        left[index] = 0
        right[index] = 0
    }
    return Cycle.frames - frames
}

@inline(__always)
private func deinterleave(_ source: UnsafeMutableRawPointer?, frames: Int,
                          into left: UnsafeMutablePointer<Float>, _ right: UnsafeMutablePointer<Float>) {
    guard frames > 0, let samples = source?.assumingMemoryBound(to: Float.self) else { return }
    for index in 0..<frames {
        left[index] = samples[2 * index]
        right[index] = samples[2 * index + 1]
    }
}

/// Joins one period of two planes into interleaved float stereo in the ring.
/// Returns the frames that did not fit.
@inline(__always)
private func interleave(from planes: UnsafePointer<UnsafePointer<Float>>,
                        into ring: UnsafeMutablePointer<FrameRing>) -> Int {
    let left = planes[0], right = planes[1]
    let region = ring.pointee.acquireWrite(maxFrames: Cycle.frames)
    interleave(left, right, frames: region.firstFrames, into: region.first.baseAddress)
    interleave(left + region.firstFrames, right + region.firstFrames, frames: region.secondFrames,
               into: region.second.baseAddress)
    let frames = region.frames()
    ring.pointee.commitWrite(frames)
    return Cycle.frames - frames
}

@inline(__always)
private func interleave(_ left: UnsafePointer<Float>, _ right: UnsafePointer<Float>, frames: Int,
                        into destination: UnsafeMutableRawPointer?) {
    guard frames > 0, let samples = destination?.assumingMemoryBound(to: Float.self) else { return }
    for index in 0..<frames {
        samples[2 * index] = left[index]
        samples[2 * index + 1] = right[index]
    }
}

/// A deterministic two-tone signal in [-0.9, 0.9], so that no stage sees
/// silence; `phase` offsets it per plane.
func fillTestSignal(_ samples: UnsafeMutablePointer<Float>, count: Int, phase: Int) {
    for index in 0..<count {
        let t = Float(index + phase * 17)
        samples[index] = 0.6 * sinf(t * 0.031) + 0.3 * sinf(t * 0.0071)
    }
}
