import PCM
import Realtime

/// Sample-rate conversion of a shared render stream on the application's
/// side of the ring: the process thread never runs the resampler.
///
/// The application writes its own frames into the stream's ring (GetBuffer
/// hands it out in place, as before); at ReleaseBuffer, on the application's
/// thread, ``pump(from:into:)`` decodes them to float and resamples them into
/// the engine ring: interleaved float at the engine's rate, with the stream's
/// channels. The process callback then only applies the stream volume and the
/// channel matrix (a ``StreamPipeline`` without a resampler). Resampled
/// streams therefore cost the process thread what native ones do, and the
/// conversion runs on as many cores as there are application threads.
///
/// GetCurrentPadding stays in the application's frames: each pump records a
/// mark (engine frames written so far, application frames taken so far), and
/// ``consumedStreamFrames(engineFramesRead:)`` maps the engine ring's read
/// position back through the marks: inside a pump, counted back from its end
/// at the ratio it converted at, so padding falls at exactly the converted
/// rate. Frames the converter held back (its look-ahead) count as played at
/// the first frame played of the pump that took them (as when the process thread took
/// them in its first cycle), so padding returns to exactly 0 once the
/// engine ring has drained (a write so small that the converter produced
/// nothing from it is counted with the next output).
///
/// Rate adjustment (IAudioClockAdjustment) sets the ratio of the next pump:
/// it applies to the frames written from then on, which play after the ones
/// already queued.
///
/// Thread safety: one thread at a time (the audio client's lock); never the
/// process thread. Allocates only in `init`.
public struct RenderConverter: ~Copyable, @unchecked Sendable {
    /// The application's sample encoding and channels.
    public let sampleFormat: SampleFormat
    public let channels: Int
    /// Internal, not private: tests make it fail as libsamplerate can.
    var resampler: Resampler
    /// Decoded application frames the converter has not taken yet, at the front.
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchFrames: Int
    private var pending = 0
    /// Where a pump left off: engine frames written and application frames
    /// taken since the reset, and the ratio it converted at.
    private struct Mark {
        var engine: UInt64
        var stream: UInt64
        var ratio: Double
    }
    /// The marks, the oldest first; the first is at or before the read position.
    private let marks: UnsafeMutablePointer<Mark>
    private let markCapacity = 64
    private var markStart = 0
    private var markCount = 1
    /// Totals since the last reset.
    private var engineWritten: UInt64 = 0
    private var streamTaken: UInt64 = 0
    /// The ratio changed: the next converter call glides, over a short output.
    private var gliding = false
    /// The last converter call had room to spare and no input left: it gave
    /// everything it could, so until new input comes another call gives nothing.
    private var drained = true

    /// A converter from `streamRate` to `engineRate` for `channels`
    /// interleaved channels of `sampleFormat`. Control path: allocates.
    /// - Throws: ``ResamplerError`` when libsamplerate refuses.
    public init(sampleFormat: SampleFormat, channels: Int, streamRate: Double, engineRate: Double,
                quality: ResamplerQuality) throws(ResamplerError) {
        self.sampleFormat = sampleFormat
        self.channels = channels
        resampler = try Resampler(quality: quality, channels: channels, ratio: engineRate / streamRate)
        scratchFrames = 4096
        scratch = .allocate(capacity: scratchFrames * channels)
        scratch.initialize(repeating: 0, count: scratchFrames * channels)
        marks = .allocate(capacity: markCapacity)
        marks.initialize(repeating: Mark(engine: 0, stream: 0, ratio: 1), count: markCapacity)
    }

    deinit {
        scratch.deallocate()
        marks.deallocate()
    }

    /// The converter's latency in engine frames.
    public var latencyFrames: Double { resampler.latencyFrames }
    /// The ratio (engine rate / stream rate) of the next pump.
    public var ratio: Double { resampler.ratio }
    /// libsamplerate failures since creation, and the last one's code.
    public var failureCount: UInt64 { resampler.failureCount }
    public var lastErrorCode: Int32 { resampler.lastErrorCode }

    /// Sets the ratio (engine rate / stream rate) for the frames converted
    /// from now on. libsamplerate glides to it across the output of one call:
    /// that call is held to ``glideFrames``, as the process thread's would be
    /// to one period.
    public mutating func setRatio(_ ratio: Double) {
        resampler.setRatio(ratio)
        gliding = true
        drained = false
    }

    /// The output frames over which a new ratio is reached.
    public static let glideFrames = 256

    /// Converts as many frames of `ring` (application frames) into `engineRing`
    /// (float, `channels` interleaved, at the engine's rate) as it has room
    /// for; what does not fit stays in `ring` for the next pump.
    /// - Returns: application frames taken from `ring`.
    @discardableResult
    public mutating func pump(from ring: UnsafeMutablePointer<FrameRing>,
                              into engineRing: UnsafeMutablePointer<FrameRing>) -> Int {
        var taken = 0
        while true {
            let room = engineRing.pointee.writableFrames()
            let available = ring.pointee.readableFrames()
            guard room > 0, available > 0 || !drained else { break }
            // No more than the engine ring has room for, so that frames
            // taken are frames converted.
            let fits = Int(Double(room) / resampler.ratio) + 64
            let decoded = decode(from: ring, frames: min(available, scratchFrames - pending, max(fits - pending, 0)))
            taken += decoded
            pending += decoded
            let produced = resample(into: engineRing)
            if produced == 0 && decoded == 0 { break }
        }
        addMark()
        return taken
    }

    /// Application frames that the engine has played, when it has read
    /// `engineFramesRead` frames of the engine ring since the last reset.
    /// Drops marks the engine has passed.
    public mutating func consumedStreamFrames(engineFramesRead: UInt64) -> UInt64 {
        while markCount > 1 && marks[(markStart + 1) % markCapacity].engine <= engineFramesRead {
            markStart = (markStart + 1) % markCapacity
            markCount -= 1
        }
        let from = marks[markStart]
        guard markCount > 1 else {
            // At or past the last mark: everything taken so far has played.
            return engineFramesRead >= from.engine ? from.stream : 0
        }
        // Counted back from the end of the pump at its ratio, so that the
        // application's frames go at exactly the converted rate; the frames
        // the converter held back fall at the pump's start, as when the
        // process thread took its look-ahead in the first cycle.
        guard engineFramesRead > from.engine else { return from.stream }
        let to = marks[(markStart + 1) % markCapacity]
        let unplayed = (Double(to.engine - max(engineFramesRead, from.engine)) / to.ratio).rounded(.up)
        return max(from.stream, to.stream - min(UInt64(unplayed), to.stream))
    }

    /// Forgets everything queued and the converter's history. With the
    /// stream stopped and its rings reset.
    public mutating func reset() {
        pending = 0
        gliding = false
        drained = true
        resampler.reset()
        engineWritten = 0
        streamTaken = 0
        markStart = 0
        markCount = 1
        marks[0] = Mark(engine: 0, stream: 0, ratio: 1)
    }

    // MARK: Steps

    private mutating func decode(from ring: UnsafeMutablePointer<FrameRing>, frames: Int) -> Int {
        guard frames > 0 else { return 0 }
        let region = ring.pointee.acquireRead(maxFrames: frames)
        let destination = scratch + pending * channels
        if region.firstFrames > 0 {
            SampleConversion.decode(sampleFormat, from: region.first.baseAddress!, into: destination,
                                    samples: region.firstFrames * channels)
        }
        if region.secondFrames > 0 {
            SampleConversion.decode(sampleFormat, from: region.second.baseAddress!,
                                    into: destination + region.firstFrames * channels,
                                    samples: region.secondFrames * channels)
        }
        ring.pointee.commitRead(region.frames())
        streamTaken += UInt64(region.frames())
        if region.frames() > 0 { drained = false }
        return region.frames()
    }

    /// Runs the converter on the pending frames into the engine ring's free
    /// space (both segments); returns the engine frames written.
    private mutating func resample(into engineRing: UnsafeMutablePointer<FrameRing>) -> Int {
        let region = engineRing.pointee.acquireWrite(maxFrames: engineRing.pointee.writableFrames())
        var produced = resample(into: region.first.baseAddress, frames: region.firstFrames)
        if produced == region.firstFrames {
            produced += resample(into: region.second.baseAddress, frames: region.secondFrames)
        }
        engineRing.pointee.commitWrite(produced)
        engineWritten += UInt64(produced)
        return produced
    }

    private mutating func resample(into start: UnsafeMutableRawPointer?, frames: Int) -> Int {
        // Called with no pending input too: libsamplerate takes more input
        // than one call converts, and gives the rest on the next calls.
        guard let start, frames > 0 else { return 0 }
        // libsamplerate glides across the whole output of a call: until a
        // call after a ratio change produced something, keep it short.
        let outputFrames = gliding ? min(frames, Self.glideFrames) : frames
        let result = resampler.process(input: scratch, inputFrames: pending,
                                       output: start.assumingMemoryBound(to: Float.self), outputFrames: outputFrames)
        if result.produced > 0 { gliding = false }
        drained = pending == 0 && result.produced < outputFrames
        shiftPending(by: result.consumed)
        return result.produced
    }

    /// Drops the first `count` pending frames, moving the rest to the front
    /// (a forward copy is safe for a move towards the start).
    private mutating func shiftPending(by count: Int) {
        guard count > 0 else { return }
        let remaining = (pending - count) * channels
        let from = scratch + count * channels
        for index in 0..<remaining { scratch[index] = from[index] }
        pending -= count
    }

    /// Records (engine frames written, application frames taken) after a
    /// pump that produced output; when the marks are full, the newest
    /// replaces the last one (coarser, still monotonic). A pump that only
    /// filled the converter's look-ahead adds none: its frames are counted
    /// with the next output.
    private mutating func addMark() {
        guard marks[(markStart + markCount - 1) % markCapacity].engine != engineWritten else { return }
        if markCount == markCapacity { markCount -= 1 }
        marks[(markStart + markCount) % markCapacity] = Mark(engine: engineWritten, stream: streamTaken, ratio: resampler.ratio)
        markCount += 1
    }
}
