import CPeers
import Glibc
import Realtime

/// The traffic both rings carry: stereo float frames, one 64-frame JACK period
/// written and then one read, as a stream's process callback would.
enum Traffic {
    static let bytesPerFrame = 2 * MemoryLayout<Float>.size
    static let periodFrames = 64
    static let periodBytes = periodFrames * bytesPerFrame
    /// Ring size in frames: 16 periods (JACK's ring holds one byte less).
    static let ringFrames = 1024
    /// Frames moved once before measuring, so that one period in 16 straddles
    /// the end of the storage and is moved as two segments.
    static let misalignment = 17
    /// Gain the in-place producers apply while writing into the ring.
    static let gain: Float = 0.5
}

/// A period of samples to send, and room for a period received.
final class PeriodBuffers {
    let source: UnsafeMutableRawPointer
    let destination: UnsafeMutableRawPointer

    init() {
        source = .allocate(byteCount: Traffic.periodBytes, alignment: 16)
        destination = .allocate(byteCount: Traffic.periodBytes, alignment: 16)
        let samples = source.bindMemory(to: Float.self, capacity: Traffic.periodBytes / 4)
        for index in 0..<Traffic.periodBytes / 4 { samples[index] = Float(index % 97) / 97 }
        destination.initializeMemory(as: UInt8.self, repeating: 0, count: Traffic.periodBytes)
    }

    deinit {
        source.deallocate()
        destination.deallocate()
    }

    /// Whether the last period received equals the one sent, times `gain`.
    func receivedMatches(gain: Float) -> Bool {
        let sent = source.assumingMemoryBound(to: Float.self)
        let received = destination.assumingMemoryBound(to: Float.self)
        return (0..<Traffic.periodBytes / 4).allSatisfy { received[$0] == sent[$0] * gain }
    }
}

/// Writes `byteCount` bytes of samples from `source` into `destination`, times the gain:
/// the in-place producer's work, the same for both rings.
@inline(__always)
func produceScaled(into destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, byteCount: Int) {
    let output = destination.assumingMemoryBound(to: Float.self)
    let input = source.assumingMemoryBound(to: Float.self)
    for index in 0..<byteCount / 4 { output[index] = input[index] * Traffic.gain }
}

/// One period through JACK's `jack_ringbuffer` in place: two-segment vectors
/// from `get_write_vector`/`get_read_vector`, then the `advance` calls. (The
/// second vector's pointer is left unset when it is empty, so it is touched
/// only when the period wraps.)
struct JackInPlace {
    let ring: UnsafeMutablePointer<jack_ringbuffer_t>
    /// Two `jack_ringbuffer_data_t`, allocated once.
    let vector: UnsafeMutablePointer<jack_ringbuffer_data_t>

    @inline(__always)
    func movePeriod(_ buffers: PeriodBuffers) {
        jack_ringbuffer_get_write_vector(ring, vector)
        let firstWrite = min(Traffic.periodBytes, vector[0].len)
        produceScaled(into: vector[0].buf, from: buffers.source, byteCount: firstWrite)
        if firstWrite < Traffic.periodBytes {
            produceScaled(into: vector[1].buf, from: buffers.source + firstWrite,
                          byteCount: Traffic.periodBytes - firstWrite)
        }
        jack_ringbuffer_write_advance(ring, Traffic.periodBytes)

        jack_ringbuffer_get_read_vector(ring, vector)
        let firstRead = min(Traffic.periodBytes, vector[0].len)
        memcpy(buffers.destination, vector[0].buf, firstRead)
        if firstRead < Traffic.periodBytes {
            memcpy(buffers.destination + firstRead, vector[1].buf, Traffic.periodBytes - firstRead)
        }
        jack_ringbuffer_read_advance(ring, Traffic.periodBytes)
    }
}

/// One period through our `FrameRing` in place: `acquireWrite`/`commitWrite`,
/// then `acquireRead`/`commitRead`.
@inline(__always)
func movePeriodInPlace(_ ring: borrowing FrameRing, _ buffers: PeriodBuffers) {
    let write = ring.acquireWrite(maxFrames: Traffic.periodFrames)
    produceScaled(into: write.first.baseAddress!, from: buffers.source, byteCount: write.first.count)
    if write.secondFrames > 0 {
        produceScaled(into: write.second.baseAddress!, from: buffers.source + write.first.count,
                      byteCount: write.second.count)
    }
    ring.commitWrite(write.frames())

    let read = ring.acquireRead(maxFrames: Traffic.periodFrames)
    memcpy(buffers.destination, read.first.baseAddress!, read.first.count)
    if read.secondFrames > 0 {
        memcpy(buffers.destination + read.first.count, read.second.baseAddress!, read.second.count)
    }
    ring.commitRead(read.frames())
}
