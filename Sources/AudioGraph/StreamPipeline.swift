import PCM
import Realtime

/// The format conversion of one stream, between its ring (the stream's sample
/// format and channels, interleaved) and the engine's port planes (float, one
/// port per endpoint channel), at the engine's rate on both sides: streams at
/// another rate convert on the application's thread (``RenderConverter``,
/// ``CaptureConverter``) and hand this pipeline float.
///
/// Render, per cycle: ring -> decode to float -> stream volume -> channel
/// matrix -> port planes.
/// Capture, per cycle: port planes -> channel matrix -> stream volume ->
/// encode (with optional TPDF dither for 8/16-bit) -> ring.
///
/// Thread safety: built on a control thread (everything is allocated in
/// `init`, sized for ``maxCycleFrames`` per cycle); ``render(from:into:frames:)``
/// and ``capture(from:frames:into:)`` run on the engine's process thread only and
/// are `@_noLocks`. ``volumes`` may be published from any control thread.
public struct StreamPipeline: ~Copyable, @unchecked Sendable {
    /// What the pipeline converts between.
    public struct Configuration: Sendable {
        public var direction: StreamSlot.Direction
        /// The application's sample encoding.
        public var sampleFormat: SampleFormat
        /// The application's channels and their speaker positions.
        public var streamChannels: Int
        public var streamMask: ChannelMask
        /// The endpoint's channels (the engine's ports) and their positions.
        public var portChannels: Int
        public var portMask: ChannelMask
        /// TPDF dither when capturing into 8- or 16-bit samples.
        public var dither = false
        /// The largest engine period the scratch buffers are sized for.
        public var maxCycleFrames = 8192

        public init(direction: StreamSlot.Direction, sampleFormat: SampleFormat,
                    streamChannels: Int, streamMask: ChannelMask = [],
                    portChannels: Int, portMask: ChannelMask = []) {
            self.direction = direction
            self.sampleFormat = sampleFormat
            self.streamChannels = streamChannels
            self.streamMask = streamMask
            self.portChannels = portChannels
            self.portMask = portMask
        }

        /// A float stream with one channel per port: no conversion.
        public static func native(direction: StreamSlot.Direction, channels: Int) -> Configuration {
            Configuration(direction: direction, sampleFormat: .float32, streamChannels: channels,
                          portChannels: channels)
        }
    }

    public let configuration: Configuration
    /// Bytes of one stream frame in the ring.
    public let bytesPerFrame: Int
    /// Per stream-channel gains (IAudioStreamVolume); 1.0 each at first.
    public let volumes: LatestValue

    private let matrix: UnsafeMutablePointer<ChannelMatrix>
    /// Interleaved float at the stream's channel count, `maxCycleFrames`
    /// frames (render: the decoded ring; capture: the mix).
    private let streamScratch: UnsafeMutablePointer<Float>
    private var dither = TPDFDither()

    /// Builds the pipeline. Control path: allocates.
    public init(_ configuration: Configuration) {
        precondition(configuration.streamChannels > 0 && configuration.portChannels > 0)
        self.configuration = configuration
        bytesPerFrame = configuration.streamChannels * configuration.sampleFormat.bytesPerSample
        volumes = LatestValue(repeating: 1, count: configuration.streamChannels)
        let toPorts = configuration.direction == .render
        matrix = .allocate(capacity: 1)
        matrix.initialize(to: ChannelMatrix(
            sourceChannels: toPorts ? configuration.streamChannels : configuration.portChannels,
            sourceMask: toPorts ? configuration.streamMask : configuration.portMask,
            destinationChannels: toPorts ? configuration.portChannels : configuration.streamChannels,
            destinationMask: toPorts ? configuration.portMask : configuration.streamMask))

        let samples = configuration.maxCycleFrames * configuration.streamChannels
        streamScratch = .allocate(capacity: samples)
        streamScratch.initialize(repeating: 0, count: samples)
    }

    deinit {
        matrix.deinitialize(count: 1)
        matrix.deallocate()
        streamScratch.deallocate()
    }

    // MARK: Process thread

    /// Fills `frames` frames of every port plane from the ring.
    /// - Returns: stream frames taken from the ring, and the engine frames
    ///   that had to be silence because the ring ran dry.
    @_noLocks
    public func render(from ring: UnsafeMutablePointer<FrameRing>,
                       into planes: UnsafePointer<UnsafeMutablePointer<Float>>,
                       frames: Int) -> (consumed: Int, shortfall: Int) {
        let consumed = decodeFromRing(ring, frames: frames, into: streamScratch)
        if consumed < frames {
            trustedZero(UnsafeMutableRawPointer(streamScratch + consumed * configuration.streamChannels),
                        (frames - consumed) * configuration.streamChannels * MemoryLayout<Float>.size)
        }
        applyVolumes(streamScratch, frames: frames)
        matrix.pointee.mixInterleavedToPlanar(streamScratch, frames: frames, into: planes)
        return (consumed, frames - consumed)
    }

    /// Moves `frames` frames of the port planes into the ring.
    /// - Returns: stream frames written, and stream frames dropped because the
    ///   ring was full.
    @_noLocks
    public mutating func capture(from planes: UnsafePointer<UnsafePointer<Float>>, frames: Int,
                                 into ring: UnsafeMutablePointer<FrameRing>, silenced: Bool = false) -> (written: Int, dropped: Int) {
        matrix.pointee.mixPlanarToInterleaved(planes, frames: frames, into: streamScratch)
        if silenced {
            trustedZero(UnsafeMutableRawPointer(streamScratch), frames * configuration.streamChannels * MemoryLayout<Float>.size)
        }
        applyVolumes(streamScratch, frames: frames)
        let region = ring.pointee.acquireWrite(maxFrames: frames)
        let channels = configuration.streamChannels
        encode(streamScratch, frames: region.firstFrames, into: region.first.baseAddress)
        encode(streamScratch + region.firstFrames * channels, frames: region.secondFrames, into: region.second.baseAddress)
        ring.pointee.commitWrite(region.frames())
        return (region.frames(), frames - region.frames())
    }

    @_noLocks
    private func decodeFromRing(_ ring: UnsafeMutablePointer<FrameRing>, frames: Int,
                                into destination: UnsafeMutablePointer<Float>) -> Int {
        guard frames > 0 else { return 0 }
        let channels = configuration.streamChannels
        let format = configuration.sampleFormat
        let region = ring.pointee.acquireRead(maxFrames: frames)
        if region.firstFrames > 0 {
            SampleConversion.decode(format, from: region.first.baseAddress!, into: destination,
                                    samples: region.firstFrames * channels)
        }
        if region.secondFrames > 0 {
            SampleConversion.decode(format, from: region.second.baseAddress!,
                                    into: destination + region.firstFrames * channels,
                                    samples: region.secondFrames * channels)
        }
        ring.pointee.commitRead(region.frames())
        return region.frames()
    }

    @_noLocks
    private mutating func encode(_ source: UnsafeMutablePointer<Float>, frames: Int,
                                 into destination: UnsafeMutableRawPointer?) {
        guard frames > 0, let destination else { return }
        let samples = frames * configuration.streamChannels
        if configuration.dither {
            SampleConversion.encode(configuration.sampleFormat, from: source, into: destination,
                                    samples: samples, dither: &dither)
        } else {
            SampleConversion.encode(configuration.sampleFormat, from: source, into: destination, samples: samples)
        }
    }

    @_noLocks
    private func applyVolumes(_ samples: UnsafeMutablePointer<Float>, frames: Int) {
        let gains = volumes.readFloats()
        let channels = configuration.streamChannels
        for channel in 0..<channels {
            let gain = gains[channel]
            if gain == 1 { continue }
            for frame in 0..<frames { samples[frame &* channels &+ channel] *= gain }
        }
    }
}
