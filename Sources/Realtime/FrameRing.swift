import Synchronization

/// A lock-free single-producer, single-consumer ring of fixed-size frames.
///
/// The ring stores raw bytes: a frame is `bytesPerFrame` bytes, whatever the
/// sample format (interleaved application samples, or float). Capacity is in
/// frames and need not be a power of two, so a WASAPI buffer of any size maps
/// onto it directly.
///
/// ## Indices
/// `writeIndex` and `readIndex` count frames since creation (or the last
/// ``reset()``) and run free: they are never reduced modulo the capacity, and
/// 64 bits do not wrap in any realistic stream. The fill level is simply
/// `writeIndex - readIndex`, so neither an empty nor a full ring is ambiguous,
/// and a shortfall is visible as a number of frames: a consumer that wanted
/// `n` frames and saw a fill of `f < n` underran by `n - f`; a producer that
/// offered `n` frames with `capacity - f < n` free overran by the difference.
/// Both sides record those shortfalls in ``underrunFrames()`` and
/// ``overrunFrames()``.
///
/// ## Memory ordering
/// The producer publishes frames by storing `writeIndex` with release
/// ordering after writing the bytes; the consumer loads it with acquire
/// ordering before reading them. The consumer frees space by storing
/// `readIndex` with release ordering after it has finished reading; the
/// producer loads it with acquire ordering before overwriting. Each side loads
/// its own index relaxed: only it writes that index.
///
/// ## Thread safety
/// Exactly one thread may act as producer (the `…Write` methods) and one as
/// consumer (the `…Read` methods) at a time; either may be JACK's process
/// thread. The other side may move between threads (an application may call
/// GetBuffer and ReleaseBuffer from any thread, serialised by the audio
/// client's lock), and the ring cannot tell which side is the fixed one, so
/// debug builds check only that two calls of the same side never overlap
/// (``ThreadRole/enter(_:)``: a trap names the side). Every producer and consumer method is `@_noLocks`: no allocation,
/// lock, system call or reference counting, so it is safe in the JACK process
/// callback. `init` allocates and `deinit` frees: control path only.
/// ``reset()`` requires that neither side is running.
///
/// The ring is `~Copyable` so that it has one address that both threads share;
/// keep it in stable memory (for example behind an `UnsafeMutablePointer`,
/// see ``RealtimeBox``).
public struct FrameRing: ~Copyable, @unchecked Sendable {
    /// Capacity in frames.
    public let capacity: Int
    /// Size of one frame in bytes.
    public let bytesPerFrame: Int
    private let storage: UnsafeMutableRawPointer
    private let writeIndex = Atomic<UInt64>(0)
    private let readIndex = Atomic<UInt64>(0)
    private let underrunCounter = Atomic<UInt64>(0)
    private let overrunCounter = Atomic<UInt64>(0)
    /// Debug-build checks: both sides are moving roles.
    private let producerRole = ThreadRole()
    private let consumerRole = ThreadRole()

    /// Creates a ring for `capacity` frames of `bytesPerFrame` bytes each.
    ///
    /// Allocates: call on a control thread, never in the process callback.
    /// - Precondition: `capacity > 0` and `bytesPerFrame > 0`.
    public init(capacity: Int, bytesPerFrame: Int) {
        precondition(capacity > 0, "FrameRing capacity must be positive")
        precondition(bytesPerFrame > 0, "FrameRing frame size must be positive")
        self.capacity = capacity
        self.bytesPerFrame = bytesPerFrame
        self.storage = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * bytesPerFrame, alignment: 16)
        self.storage.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * bytesPerFrame)
    }

    deinit { storage.deallocate() }

    // MARK: Either side

    /// Frames written and not yet read: `writeIndex - readIndex`.
    /// Between 0 and ``capacity`` when read from either side.
    @_noLocks
    public func fillLevel() -> Int {
        let read = readIndex.load(ordering: .acquiring)
        let written = writeIndex.load(ordering: .acquiring)
        return Int(truncatingIfNeeded: Int64(bitPattern: written &- read))
    }

    /// Total frames ever committed by the producer (the free-running write index).
    @_noLocks
    public func totalWritten() -> UInt64 { writeIndex.load(ordering: .acquiring) }

    /// Total frames ever consumed (the free-running read index).
    @_noLocks
    public func totalRead() -> UInt64 { readIndex.load(ordering: .acquiring) }

    /// Frames the consumer asked for and did not find (see ``noteUnderrun(frames:)``).
    @_noLocks
    public func underrunFrames() -> UInt64 { underrunCounter.load(ordering: .relaxed) }

    /// Frames the producer offered and found no room for (see ``noteOverrun(frames:)``).
    @_noLocks
    public func overrunFrames() -> UInt64 { overrunCounter.load(ordering: .relaxed) }

    // MARK: Producer

    /// Frames the producer may write now.
    @_noLocks
    public func writableFrames() -> Int {
        let read = readIndex.load(ordering: .acquiring)
        let written = writeIndex.load(ordering: .relaxed)
        return capacity - Int(truncatingIfNeeded: written &- read)
    }

    /// Returns the region where the next `min(maxFrames, writableFrames)` frames go,
    /// as at most two contiguous segments. Fill it, then ``commitWrite(_:)``.
    /// Producer only.
    @_noLocks @inline(__always)
    public func acquireWrite(maxFrames: Int) -> RingRegion {
        producerRole.enter("FrameRing producer")
        defer { producerRole.leave() }
        let read = readIndex.load(ordering: .acquiring)
        let written = writeIndex.load(ordering: .relaxed)
        let free = capacity - Int(truncatingIfNeeded: written &- read)
        return region(at: written, frames: min(max(maxFrames, 0), free))
    }

    /// Publishes `frames` frames written into the region from ``acquireWrite(maxFrames:)``.
    /// Producer only.
    /// - Precondition: `frames` is at most the acquired region's frame count.
    @_noLocks
    public func commitWrite(_ frames: Int) {
        producerRole.enter("FrameRing producer")
        defer { producerRole.leave() }
        let written = writeIndex.load(ordering: .relaxed)
        writeIndex.store(written &+ UInt64(frames), ordering: .releasing)
    }

    /// Copies up to `frames` frames from `source` into the ring and returns how many fitted.
    /// Producer only.
    @_noLocks @inline(__always)
    public func write(from source: UnsafeRawPointer, frames: Int) -> Int {
        producerRole.enter("FrameRing producer")
        defer { producerRole.leave() }
        // The region logic of acquireWrite/commitWrite, without building a region.
        let read = readIndex.load(ordering: .acquiring)
        let written = writeIndex.load(ordering: .relaxed)
        let count = min(max(frames, 0), capacity - Int(truncatingIfNeeded: written &- read))
        let start = offset(of: written)
        let first = min(count, capacity - start)
        trustedMemcpy(storage + start * bytesPerFrame, source, first * bytesPerFrame)
        if count > first {
            trustedMemcpy(storage, source + first * bytesPerFrame, (count - first) * bytesPerFrame)
        }
        writeIndex.store(written &+ UInt64(count), ordering: .releasing)
        return count
    }


    /// Records that the producer had `frames` more frames than room.
    @_noLocks
    public func noteOverrun(frames: Int) {
        if frames > 0 { overrunCounter.add(UInt64(frames), ordering: .relaxed) }
    }

    // MARK: Consumer

    /// Frames the consumer may read now.
    @_noLocks
    public func readableFrames() -> Int {
        let written = writeIndex.load(ordering: .acquiring)
        let read = readIndex.load(ordering: .relaxed)
        return Int(truncatingIfNeeded: written &- read)
    }

    /// Returns the region holding the next `min(maxFrames, readableFrames)` frames,
    /// as at most two contiguous segments. Read it, then ``commitRead(_:)``.
    /// Consumer only.
    @_noLocks @inline(__always)
    public func acquireRead(maxFrames: Int) -> RingRegion {
        consumerRole.enter("FrameRing consumer")
        defer { consumerRole.leave() }
        let written = writeIndex.load(ordering: .acquiring)
        let read = readIndex.load(ordering: .relaxed)
        let available = Int(truncatingIfNeeded: written &- read)
        return region(at: read, frames: min(max(maxFrames, 0), available))
    }

    /// Frees `frames` frames read from the region from ``acquireRead(maxFrames:)``.
    /// Consumer only.
    @_noLocks
    public func commitRead(_ frames: Int) {
        consumerRole.enter("FrameRing consumer")
        defer { consumerRole.leave() }
        let read = readIndex.load(ordering: .relaxed)
        readIndex.store(read &+ UInt64(frames), ordering: .releasing)
    }

    /// Copies up to `frames` frames out of the ring into `destination` and returns
    /// how many there were. Consumer only.
    @_noLocks @inline(__always)
    public func read(into destination: UnsafeMutableRawPointer, frames: Int) -> Int {
        consumerRole.enter("FrameRing consumer")
        defer { consumerRole.leave() }
        // The region logic of acquireRead/commitRead, without building a region.
        let written = writeIndex.load(ordering: .acquiring)
        let read = readIndex.load(ordering: .relaxed)
        let count = min(max(frames, 0), Int(truncatingIfNeeded: written &- read))
        let start = offset(of: read)
        let first = min(count, capacity - start)
        trustedMemcpy(destination, storage + start * bytesPerFrame, first * bytesPerFrame)
        if count > first {
            trustedMemcpy(destination + first * bytesPerFrame, storage, (count - first) * bytesPerFrame)
        }
        readIndex.store(read &+ UInt64(count), ordering: .releasing)
        return count
    }


    /// Records that the consumer wanted `frames` more frames than the ring held.
    @_noLocks
    public func noteUnderrun(frames: Int) {
        if frames > 0 { underrunCounter.add(UInt64(frames), ordering: .relaxed) }
    }

    // MARK: Control

    /// Empties the ring and zeroes its indices and counters.
    /// Control path, only while neither producer nor consumer is running.
    public func reset() {
        writeIndex.store(0, ordering: .releasing)
        readIndex.store(0, ordering: .releasing)
        underrunCounter.store(0, ordering: .relaxed)
        overrunCounter.store(0, ordering: .relaxed)
    }

    /// Where the free-running `index` falls in the storage: a mask instead of
    /// a divide when the capacity is a power of two.
    @_noLocks @inline(__always)
    private func offset(of index: UInt64) -> Int {
        capacity & (capacity &- 1) == 0
            ? Int(truncatingIfNeeded: index) & (capacity &- 1)
            : Int(index % UInt64(capacity))
    }

    @_noLocks @inline(__always)
    private func region(at index: UInt64, frames: Int) -> RingRegion {
        let start = offset(of: index)
        let firstFrames = min(frames, capacity - start)
        let secondFrames = frames - firstFrames
        return RingRegion(
            first: UnsafeMutableRawBufferPointer(
                start: storage + start * bytesPerFrame, count: firstFrames * bytesPerFrame),
            second: UnsafeMutableRawBufferPointer(
                start: storage, count: secondFrames * bytesPerFrame),
            firstFrames: firstFrames, secondFrames: secondFrames)
    }
}

/// Up to two contiguous segments of a ``FrameRing``: the second is used when the
/// region wraps past the end of the storage, and is empty otherwise.
///
/// Valid only until the matching commit; plain value, safe on any thread.
public struct RingRegion: BitwiseCopyable {
    /// The segment starting at the current index.
    public let first: UnsafeMutableRawBufferPointer
    /// The segment continuing at the start of the storage (empty when not wrapped).
    public let second: UnsafeMutableRawBufferPointer
    /// Frames in ``first``.
    public let firstFrames: Int
    /// Frames in ``second``.
    public let secondFrames: Int
    /// Frames in both segments.
    @_noLocks
    public func frames() -> Int { firstFrames + secondFrames }
}
