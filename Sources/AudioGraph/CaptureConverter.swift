import PCM
import Realtime

/// Sample-rate conversion of a shared capture stream on the application's
/// side of the ring: the process thread never runs the resampler.
///
/// The process callback writes each cycle's frames as float at the engine's
/// rate, with the stream's channels, into the engine ring, and describes the
/// cycle as a ``CapturePacket`` in engine frames (a ``StreamPipeline``
/// without a resampler). Before GetBuffer, GetNextPacketSize and
/// GetCurrentPadding, on the application's thread, ``pump(packets:from:into:)``
/// converts those packets in order: resample, encode to the application's
/// format into the stream's ring (what GetBuffer hands out), and one packet
/// in the application's frames per cycle. A cycle that gave no output frame
/// (the converter's look-ahead filling) hands its flags to the next packet.
///
/// Positions stay in the application's frames: each packet's device
/// position counts the frames converted before it, plus the frames of
/// cycles the process thread dropped (at the current ratio).
///
/// Thread safety: one thread at a time (the audio client's lock); never the
/// process thread. Allocates only in `init`.
public struct CaptureConverter: ~Copyable, @unchecked Sendable {
    /// The application's sample encoding and channels.
    public let sampleFormat: SampleFormat
    public let channels: Int
    private var resampler: Resampler
    /// Converted frames (float, interleaved) before encoding.
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchFrames: Int
    /// Converted packets waiting for GetBuffer, the oldest at `packetStart`.
    private let packets: UnsafeMutablePointer<CapturePacket>
    private let packetCapacity: Int
    private var packetStart = 0
    private var packetCount = 0
    /// Flags of cycles that produced no output, for the next packet.
    private var carriedFlags: UInt32 = 0
    /// Application frames offered so far (converted, and dropped cycles'
    /// worth), and the engine frames (device position) they correspond to.
    private var streamFrames: UInt64 = 0
    private var engineFrames: UInt64 = 0

    /// A converter from `engineRate` to `streamRate` for `channels`
    /// interleaved channels of `sampleFormat`, holding up to `packetCapacity`
    /// converted packets. Control path: allocates.
    /// - Throws: ``ResamplerError`` when libsamplerate refuses.
    public init(sampleFormat: SampleFormat, channels: Int, streamRate: Double, engineRate: Double,
                quality: ResamplerQuality, packetCapacity: Int) throws(ResamplerError) {
        self.sampleFormat = sampleFormat
        self.channels = channels
        resampler = try Resampler(quality: quality, channels: channels, ratio: streamRate / engineRate)
        // One engine period of at most 8192 frames, at up to twice the ratio, plus headroom.
        scratchFrames = Int(8192 * max(streamRate / engineRate, 1) * 2) + 1024
        scratch = .allocate(capacity: scratchFrames * channels)
        scratch.initialize(repeating: 0, count: scratchFrames * channels)
        self.packetCapacity = max(packetCapacity, 1)
        packets = .allocate(capacity: self.packetCapacity)
        packets.initialize(repeating: CapturePacket(frames: 0, devicePosition: 0, qpcPosition: 0, flags: 0),
                           count: self.packetCapacity)
    }

    deinit {
        scratch.deallocate()
        packets.deallocate()
    }

    /// The converter's latency in application frames.
    public var latencyFrames: Double { resampler.latencyFrames }
    /// libsamplerate failures since creation, and the last one's code.
    public var failureCount: UInt64 { resampler.failureCount }
    public var lastErrorCode: Int32 { resampler.lastErrorCode }

    /// Sets the ratio (stream rate / engine rate) for the cycles converted from now on.
    public mutating func setRatio(_ ratio: Double) { resampler.setRatio(ratio) }

    /// The oldest converted packet, if any.
    public func peek() -> CapturePacket? { packetCount > 0 ? packets[packetStart] : nil }

    /// Drops the oldest converted packet (after GetBuffer's data was read).
    public mutating func pop() {
        guard packetCount > 0 else { return }
        packetStart = (packetStart + 1) % packetCapacity
        packetCount -= 1
    }

    /// Application frames offered up to device position `enginePosition`
    /// (engine frames): exact at the last converted cycle, at the current
    /// ratio beyond it.
    public func streamFrames(atEngineFrames enginePosition: UInt64) -> UInt64 {
        guard enginePosition > engineFrames else { return streamFrames }
        return streamFrames + UInt64(Double(enginePosition - engineFrames) * resampler.ratio)
    }

    /// Converts the process thread's packets, oldest first, while the
    /// stream's ring and the packet list have room.
    public mutating func pump(packets source: UnsafeMutablePointer<CapturePacketQueue>,
                              from engineRing: UnsafeMutablePointer<FrameRing>,
                              into ring: UnsafeMutablePointer<FrameRing>) {
        while packetCount < packetCapacity, let cycle = source.pointee.peek() {
            let most = Int((Double(cycle.frames) * resampler.ratio).rounded(.up)) + 16
            guard ring.pointee.writableFrames() >= most else { break }
            if cycle.devicePosition > engineFrames {
                // Cycles the process thread dropped (the application fell behind).
                streamFrames += UInt64(Double(cycle.devicePosition - engineFrames) * resampler.ratio)
            }
            let position = streamFrames
            let produced = convert(engineRing, frames: cycle.frames, outputFrames: min(most, scratchFrames))
            encode(produced, into: ring)
            source.pointee.pop()
            engineFrames = cycle.devicePosition + UInt64(cycle.frames)
            streamFrames += UInt64(produced)
            guard produced > 0 else {
                carriedFlags |= cycle.flags
                continue
            }
            packets[(packetStart + packetCount) % packetCapacity] = CapturePacket(
                frames: produced, devicePosition: position, qpcPosition: cycle.qpcPosition,
                flags: cycle.flags | carriedFlags)
            packetCount += 1
            carriedFlags = 0
        }
    }

    /// Forgets the converted packets and the converter's history
    /// (IAudioClient::Reset); positions go on from where they are.
    public mutating func reset() {
        resampler.reset()
        packetStart = 0
        packetCount = 0
        carriedFlags = 0
    }

    // MARK: Steps

    /// Resamples `frames` engine frames of the engine ring into `scratch`;
    /// returns the application frames produced.
    private mutating func convert(_ engineRing: UnsafeMutablePointer<FrameRing>, frames: Int, outputFrames: Int) -> Int {
        let region = engineRing.pointee.acquireRead(maxFrames: frames)
        var produced = convert(region.first.baseAddress, frames: region.firstFrames, into: 0, outputFrames: outputFrames)
        produced = convert(region.second.baseAddress, frames: region.secondFrames, into: produced, outputFrames: outputFrames)
        engineRing.pointee.commitRead(region.frames())
        return produced
    }

    /// Offers `frames` frames at `start` until the converter took them all;
    /// output goes to `scratch` after `produced` frames. Returns the new total.
    private mutating func convert(_ start: UnsafeMutableRawPointer?, frames: Int, into produced: Int,
                                  outputFrames: Int) -> Int {
        guard let start, frames > 0 else { return produced }
        var produced = produced, offered = 0
        while offered < frames && produced < outputFrames {
            let result = resampler.process(input: start.assumingMemoryBound(to: Float.self) + offered * channels,
                                           inputFrames: frames - offered,
                                           output: scratch + produced * channels, outputFrames: outputFrames - produced)
            offered += result.consumed
            produced += result.produced
            if result.consumed == 0 && result.produced == 0 { break }
        }
        return produced
    }

    private func encode(_ frames: Int, into ring: UnsafeMutablePointer<FrameRing>) {
        guard frames > 0 else { return }
        let region = ring.pointee.acquireWrite(maxFrames: frames)
        if let first = region.first.baseAddress, region.firstFrames > 0 {
            SampleConversion.encode(sampleFormat, from: scratch, into: first, samples: region.firstFrames * channels)
        }
        if let second = region.second.baseAddress, region.secondFrames > 0 {
            SampleConversion.encode(sampleFormat, from: scratch + region.firstFrames * channels, into: second,
                                    samples: region.secondFrames * channels)
        }
        ring.pointee.commitWrite(region.frames())
    }
}
