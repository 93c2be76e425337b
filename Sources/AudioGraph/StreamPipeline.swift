import PCM
import Realtime
import Synchronization

/// The format conversion of one stream, between its ring (the application's
/// sample format, rate and channels, interleaved) and the engine's port planes
/// (float, the server's rate, one port per endpoint channel).
///
/// Render, per cycle: ring -> decode to float -> resample (when the rates
/// differ) -> stream volume -> channel matrix -> port planes.
/// Capture, per cycle: port planes -> channel matrix -> stream volume ->
/// resample -> encode (with optional TPDF dither for 8/16-bit) -> ring.
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
        /// The application's frame rate.
        public var streamRate: Double
        /// The endpoint's channels (the engine's ports) and their positions.
        public var portChannels: Int
        public var portMask: ChannelMask
        /// The engine's frame rate.
        public var engineRate: Double
        /// The converter used when the rates differ (or when the ratio may
        /// change at run time); nil: the rates must be equal.
        public var resamplerQuality: ResamplerQuality?
        /// TPDF dither when capturing into 8- or 16-bit samples.
        public var dither = false
        /// The largest engine period the scratch buffers are sized for.
        public var maxCycleFrames = 8192

        public init(direction: StreamSlot.Direction, sampleFormat: SampleFormat,
                    streamChannels: Int, streamMask: ChannelMask = [], streamRate: Double,
                    portChannels: Int, portMask: ChannelMask = [], engineRate: Double,
                    resamplerQuality: ResamplerQuality? = nil) {
            self.direction = direction
            self.sampleFormat = sampleFormat
            self.streamChannels = streamChannels
            self.streamMask = streamMask
            self.streamRate = streamRate
            self.portChannels = portChannels
            self.portMask = portMask
            self.engineRate = engineRate
            self.resamplerQuality = resamplerQuality
        }

        /// A float stream with one channel per port at the engine's rate: no conversion.
        public static func native(direction: StreamSlot.Direction, channels: Int, rate: Double) -> Configuration {
            Configuration(direction: direction, sampleFormat: .float32, streamChannels: channels,
                          streamRate: rate, portChannels: channels, engineRate: rate)
        }
    }

    public let configuration: Configuration
    /// Bytes of one stream frame in the ring.
    public let bytesPerFrame: Int
    /// Per stream-channel gains (IAudioStreamVolume); 1.0 each at first.
    public let volumes: LatestValue
    /// Resampler calls that libsamplerate failed (each produced nothing, so
    /// the stream played or recorded silence), and the last failure's
    /// libsamplerate code. The process thread stores them; any thread reads.
    public let converterFailures = Atomic<UInt64>(0)
    public let lastConverterError = Atomic<Int32>(0)

    private let matrix: UnsafeMutablePointer<ChannelMatrix>
    private let resampler: UnsafeMutablePointer<Resampler>?
    /// Interleaved float at the stream's channel count, before resampling
    /// (render: decoded input with `pending` carried-over frames; capture: the mix).
    private let streamScratch: UnsafeMutablePointer<Float>
    private let streamScratchFrames: Int
    /// Interleaved float after resampling.
    private let resampled: UnsafeMutablePointer<Float>
    private let resampledFrames: Int
    /// Render with a resampler: decoded frames the converter has not taken yet.
    private var pending = 0
    private var dither = TPDFDither()

    /// Builds the pipeline. Control path: allocates.
    /// - Throws: ``ResamplerError`` when the converter cannot be created.
    public init(_ configuration: Configuration) throws(ResamplerError) {
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

        let ratio = toPorts ? configuration.engineRate / configuration.streamRate
                            : configuration.streamRate / configuration.engineRate
        let maxFrames = configuration.maxCycleFrames
        if let quality = configuration.resamplerQuality {
            let pointer = UnsafeMutablePointer<Resampler>.allocate(capacity: 1)
            do {
                pointer.initialize(to: try Resampler(quality: quality, channels: configuration.streamChannels, ratio: ratio))
            } catch {
                pointer.deallocate()
                matrix.deinitialize(count: 1)
                matrix.deallocate()
                throw error
            }
            resampler = pointer
        } else {
            precondition(configuration.streamRate == configuration.engineRate,
                         "a stream at another rate than the engine needs a resampler")
            resampler = nil
        }
        // Render input may need up to period / ratio frames plus the look-ahead;
        // capture output up to period * ratio. Leave generous headroom for
        // run-time ratio changes (IAudioClockAdjustment).
        let maxRatioSpan = max(ratio, 1 / ratio) * 2 + 1
        streamScratchFrames = toPorts ? Int(Double(maxFrames) * maxRatioSpan) + 1024 : maxFrames
        resampledFrames = toPorts ? maxFrames : Int(Double(maxFrames) * maxRatioSpan) + 1024
        streamScratch = .allocate(capacity: streamScratchFrames * configuration.streamChannels)
        streamScratch.initialize(repeating: 0, count: streamScratchFrames * configuration.streamChannels)
        resampled = .allocate(capacity: resampledFrames * configuration.streamChannels)
        resampled.initialize(repeating: 0, count: resampledFrames * configuration.streamChannels)
    }

    deinit {
        matrix.deinitialize(count: 1)
        matrix.deallocate()
        if let resampler {
            resampler.deinitialize(count: 1)
            resampler.deallocate()
        }
        streamScratch.deallocate()
        resampled.deallocate()
    }

    /// The converter's latency in engine frames (0 without one). Read it on the
    /// control path before the slot is installed: the process thread owns the
    /// converter afterwards.
    public var resamplerLatencyFrames: Double {
        guard let resampler else { return 0 }
        let latency = resampler.pointee.latencyFrames
        // Render measures in engine frames already; capture in stream frames.
        return configuration.direction == .render ? latency : latency * configuration.engineRate / configuration.streamRate
    }

    /// Sets the resampling ratio (output / input), e.g. for rate adjustment.
    /// Process thread only (the slot forwards a published request).
    @_noLocks
    mutating func setRatio(_ ratio: Double) {
        resampler?.pointee.setRatio(ratio)
    }

    /// Forgets carried-over input and the converter's history. Control path,
    /// with the stream stopped and out of the process graph's reach.
    public mutating func reset() {
        pending = 0
        resampler?.pointee.reset()
    }

    // MARK: Process thread

    /// Fills `frames` frames of every port plane from the ring.
    /// - Returns: stream frames taken from the ring, and the engine frames
    ///   that had to be silence because the ring ran dry.
    @_noLocks
    public mutating func render(from ring: UnsafeMutablePointer<FrameRing>,
                         into planes: UnsafePointer<UnsafeMutablePointer<Float>>,
                         frames: Int) -> (consumed: Int, shortfall: Int) {
        let channels = configuration.streamChannels
        var consumed = 0
        var produced = 0
        let source: UnsafeMutablePointer<Float>
        if let resampler {
            let wanted = resampler.pointee.inputFrames(forOutputFrames: frames)
            let room = streamScratchFrames - pending
            let toRead = min(max(wanted - pending, 0), room)
            consumed = decodeFromRing(ring, frames: toRead, into: streamScratch + pending * channels)
            pending += consumed
            let result = resampler.pointee.process(input: streamScratch, inputFrames: pending,
                                                   output: resampled, outputFrames: frames)
            noteConverterFailures()
            shiftPending(by: result.consumed)
            produced = result.produced
            source = resampled
        } else {
            consumed = decodeFromRing(ring, frames: frames, into: streamScratch)
            produced = consumed
            source = streamScratch
        }
        if produced < frames {
            trustedZero(UnsafeMutableRawPointer(source + produced * channels),
                        (frames - produced) * channels * MemoryLayout<Float>.size)
        }
        applyVolumes(source, frames: frames)
        matrix.pointee.mixInterleavedToPlanar(source, frames: frames, into: planes)
        return (consumed, frames - produced)
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
        var source = streamScratch
        var count = frames
        if let resampler {
            let result = resampler.pointee.process(input: streamScratch, inputFrames: frames,
                                                   output: resampled, outputFrames: resampledFrames)
            noteConverterFailures()
            source = resampled
            count = result.produced
        }
        let region = ring.pointee.acquireWrite(maxFrames: count)
        let channels = configuration.streamChannels
        encode(source, frames: region.firstFrames, into: region.first.baseAddress)
        encode(source + region.firstFrames * channels, frames: region.secondFrames, into: region.second.baseAddress)
        ring.pointee.commitWrite(region.frames())
        return (region.frames(), count - region.frames())
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

    /// Drops the first `count` pending frames, moving the rest to the front.
    @_noLocks
    private mutating func shiftPending(by count: Int) {
        guard count > 0 else { return }
        let channels = configuration.streamChannels
        let remaining = (pending - count) * channels
        let from = streamScratch + count * channels
        // Forward copy is safe for a move towards the start.
        for index in 0..<remaining { streamScratch[index] = from[index] }
        pending -= count
    }

    /// Publishes the resampler's failure count (and last code) when it grew.
    @_noLocks
    private func noteConverterFailures() {
        guard let resampler else { return }
        let failures = resampler.pointee.failureCount
        guard failures != converterFailures.load(ordering: .relaxed) else { return }
        lastConverterError.store(resampler.pointee.lastErrorCode, ordering: .relaxed)
        converterFailures.store(failures, ordering: .releasing)
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
