import Synchronization
import Realtime

/// One capture packet: what one process cycle put into a capture stream's
/// ring (IAudioCaptureClient::GetBuffer returns one packet at a time).
public struct CapturePacket: Sendable, Equatable {
    /// Frames of the packet, in the stream's format.
    public var frames: Int
    /// Stream position of the packet's first frame (counting dropped frames too).
    public var devicePosition: UInt64
    /// When the first frame was captured, in 100-ns units of CLOCK_MONOTONIC.
    public var qpcPosition: UInt64
    /// AUDCLNT_BUFFERFLAGS_* bits (WASAPI's `BufferFlags`; the process thread
    /// writes the literal values, as a `@_noLocks` function cannot read globals).
    public var flags: UInt32

    @_noLocks
    public init(frames: Int, devicePosition: UInt64, qpcPosition: UInt64, flags: UInt32) {
        self.frames = frames
        self.devicePosition = devicePosition
        self.qpcPosition = qpcPosition
        self.flags = flags
    }
}

/// A lock-free single-producer single-consumer queue of ``CapturePacket``s
/// beside a capture ring: the process thread pushes one per cycle, the
/// application pops one per ReleaseBuffer.
///
/// Thread safety, by role:
/// - **Producer** (``hasSpace()``, ``push(_:)``, `@_noLocks`): the engine's
///   process thread, one thread for the queue's whole life. Debug builds
///   record it and trap on a push from any other thread.
/// - **Consumer** (``peek()``, ``pop()``, ``reset()``): application threads
///   under the audio client's lock, so the role moves between threads but is
///   held by one at a time; debug builds trap when two consumer calls
///   overlap. ``reset()`` only while the producer is stopped.
public struct CapturePacketQueue: ~Copyable, @unchecked Sendable {
    public let capacity: Int
    private let storage: UnsafeMutablePointer<CapturePacket>
    private let head = Atomic<Int>(0)  // next to pop (consumer)
    private let tail = Atomic<Int>(0)  // next to push (producer)
    /// Debug-build checks: the producer's thread is fixed, the consumer's moves.
    private let producerRole = ThreadRole()
    private let consumerRole = ThreadRole()

    public init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: CapturePacket(frames: 0, devicePosition: 0, qpcPosition: 0, flags: 0), count: capacity)
    }

    deinit { storage.deallocate() }

    /// Whether a ``push(_:)`` would succeed now (producer side).
    @_noLocks
    func hasSpace() -> Bool {
        producerRole.checkFixedThread("CapturePacketQueue producer")
        return tail.load(ordering: .relaxed) &- head.load(ordering: .acquiring) < capacity
    }

    /// Appends a packet; false when the queue is full.
    @_noLocks
    func push(_ packet: CapturePacket) -> Bool {
        producerRole.checkFixedThread("CapturePacketQueue producer")
        let end = tail.load(ordering: .relaxed)
        guard end &- head.load(ordering: .acquiring) < capacity else { return false }
        storage[end % capacity] = packet
        tail.store(end &+ 1, ordering: .releasing)
        return true
    }

    /// The oldest packet, if any.
    public func peek() -> CapturePacket? {
        consumerRole.enter("CapturePacketQueue consumer")
        defer { consumerRole.leave() }
        let start = head.load(ordering: .relaxed)
        guard start != tail.load(ordering: .acquiring) else { return nil }
        return storage[start % capacity]
    }

    /// Removes the oldest packet.
    public func pop() {
        consumerRole.enter("CapturePacketQueue consumer")
        defer { consumerRole.leave() }
        let start = head.load(ordering: .relaxed)
        guard start != tail.load(ordering: .acquiring) else { return }
        head.store(start &+ 1, ordering: .releasing)
    }

    /// Empties the queue. Only while the producer is not running.
    public func reset() {
        consumerRole.enter("CapturePacketQueue consumer")
        defer { consumerRole.leave() }
        head.store(tail.load(ordering: .acquiring), ordering: .releasing)
    }
}
