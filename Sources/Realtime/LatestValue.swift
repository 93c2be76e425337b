import Synchronization

/// Latest-value publication from one control thread to the real-time thread:
/// a triple buffer of a fixed number of bytes (a snapshot).
///
/// The writer fills its private back slot and swaps it with the shared middle
/// slot in one atomic exchange; the reader, when the middle slot is fresh,
/// swaps it with its private front slot. Neither side ever waits for the other
/// and the reader always sees a complete snapshot (never half of one update and
/// half of another), which a plain array of atomics would not guarantee for
/// per-channel volumes or clock readings.
///
/// Thread safety, by role:
/// - **Reader** (``read()``, ``readFloats()``): one thread for the buffer's
///   whole life, normally the engine's process thread. A second reader would
///   swap the same middle slot as the first and both could end up holding one
///   slot, or the writer writing into a slot being read: the snapshot tears
///   for good. Keep a control-side copy of what was published instead of
///   reading it back. Debug builds record the first reader thread and trap
///   on a read from any other (``ThreadRole/checkFixedThread(_:)``).
/// - **Writer** (``publish(_:)``, ``publish(floats:)``): any control thread,
///   one at a time; callers serialise themselves (the WASAPI layer publishes
///   under the audio client's or the session's lock). Debug builds trap when
///   two publications overlap (``ThreadRole/enter(_:)``).
///
/// ``read()`` and ``publish(_:)`` are `@_noLocks`. Keep the value in stable
/// memory (``RealtimeBox``).
public struct LatestValue: ~Copyable, @unchecked Sendable {
    /// Bytes per snapshot.
    public let byteCount: Int
    private let slots: UnsafeMutableRawPointer
    private let stride: Int
    /// Bits 0-1: index of the middle slot; bit 2: the middle slot is fresh.
    private let middle = Atomic<UInt8>(2)
    /// The writer's private slot index (touched by the writer only).
    private let back = Atomic<UInt8>(1)
    /// The reader's private slot index (touched by the reader only).
    private let front = Atomic<UInt8>(0)
    /// Debug-build checks: the reader's thread is fixed, the writer's moves.
    private let readerRole = ThreadRole()
    private let writerRole = ThreadRole()

    private static var freshBit: UInt8 { 4 }

    /// Creates the buffer with every slot holding a copy of `initial`.
    /// Control path (allocates).
    public init(initial: UnsafeRawBufferPointer) {
        precondition(initial.count > 0, "LatestValue needs at least one byte")
        byteCount = initial.count
        stride = (initial.count + 15) & ~15
        slots = .allocate(byteCount: 3 * stride, alignment: 16)
        for slot in 0..<3 {
            (slots + slot * stride).copyMemory(from: initial.baseAddress!, byteCount: byteCount)
        }
    }

    /// Creates a snapshot of `count` floats, each `initial` (volumes, gains).
    public init(repeating initial: Float, count: Int) {
        let values = [Float](repeating: initial, count: max(count, 1))
        self.init(initial: values.withUnsafeBytes { UnsafeRawBufferPointer($0) })
    }

    deinit { slots.deallocate() }

    /// Publishes a new snapshot. Writer only.
    /// - Precondition: `bytes.count == byteCount`.
    @_noLocks
    public func publish(_ bytes: UnsafeRawBufferPointer) {
        writerRole.enter("LatestValue writer")
        defer { writerRole.leave() }
        let slot = back.load(ordering: .relaxed)
        trustedMemcpy(slots + Int(slot) * stride, bytes.baseAddress!, byteCount)
        let previous = middle.exchange(slot | Self.freshBit, ordering: .acquiringAndReleasing)
        back.store(previous & 3, ordering: .relaxed)
    }

    /// The newest complete snapshot. Reader only; the bytes stay valid until the
    /// reader's next call to ``read()``.
    @_noLocks
    public func read() -> UnsafeRawBufferPointer {
        readerRole.checkFixedThread("LatestValue reader")
        if middle.load(ordering: .relaxed) & Self.freshBit != 0 {
            let previous = middle.exchange(front.load(ordering: .relaxed),
                                           ordering: .acquiringAndReleasing)
            front.store(previous & 3, ordering: .relaxed)
        }
        return UnsafeRawBufferPointer(start: slots + Int(front.load(ordering: .relaxed)) * stride,
                                      count: byteCount)
    }

    /// The newest snapshot as floats (for a buffer created with
    /// ``init(repeating:count:)``). Reader only.
    @_noLocks
    public func readFloats() -> UnsafeBufferPointer<Float> {
        let bytes = read()
        return UnsafeBufferPointer(
            start: bytes.baseAddress!.assumingMemoryBound(to: Float.self),
            count: byteCount / 4)
    }

    /// Publishes `values` as the new float snapshot. Writer only; control path.
    public func publish(floats values: [Float]) {
        precondition(values.count * 4 == byteCount, "snapshot size mismatch")
        values.withUnsafeBytes { publish($0) }
    }
}

/// A `Float` that one thread stores and another loads, without tearing: the
/// scalar case of latest-value publication (master volume, mute as 0/1).
///
/// Thread safety: any number of threads; ``load()`` and ``store(_:)`` are
/// `@_noLocks`.
public struct AtomicFloat: ~Copyable, @unchecked Sendable {
    private let bits: Atomic<UInt32>

    public init(_ value: Float) { bits = Atomic(value.bitPattern) }

    @_noLocks
    public func load() -> Float { Float(bitPattern: bits.load(ordering: .acquiring)) }

    @_noLocks
    public func store(_ value: Float) { bits.store(value.bitPattern, ordering: .releasing) }
}
