import Realtime
import Synchronization

/// The real-time half of one stream: its JACK ports, its ring and its counters.
///
/// A control thread builds the slot (allocating everything), installs it in the
/// ``ProcessGraph`` with ``JackClient/install(_:)``, and from then on the process
/// callback moves one period per cycle between the ring and the ports:
/// - render: ring (interleaved float frames) -> one output port per channel;
///   a shortfall plays silence and is counted, stale audio is never repeated;
/// - capture: one input port per channel -> ring; frames that do not fit are
///   dropped and counted as overrun.
///
/// While the slot is not ``running``, render ports carry silence and capture
/// ports are ignored. After each cycle in which it ran, the slot raises its
/// event, if one is set.
///
/// Thread safety: the fields are fixed at creation except the atomics, which
/// control threads may set at any time. ``process(frames:)`` is `@_noLocks` and
/// runs only on JACK's process thread.
public struct StreamSlot: ~Copyable, @unchecked Sendable {
    /// Which way audio flows through the slot.
    public enum Direction: UInt8, Sendable {
        /// Application -> ring -> JACK output ports.
        case render
        /// JACK input ports -> ring -> application.
        case capture
    }

    public let direction: Direction
    /// Channels, one JACK port each.
    public let channels: Int
    /// The ring of interleaved float frames shared with the application side.
    public let ring: UnsafeMutablePointer<FrameRing>
    private let ports: UnsafeMutablePointer<OpaquePointer>
    private let planes: UnsafeMutablePointer<UnsafeMutablePointer<Float>>

    /// Whether the process callback moves audio (IAudioClient::Start / Stop).
    public let running = Atomic<Bool>(false)
    /// The eventfd raised after each running cycle, or -1 for none.
    public let eventDescriptor = Atomic<Int32>(-1)
    /// Frames the slot has moved to or from JACK while running (the device position).
    public let devicePosition = Atomic<UInt64>(0)

    /// Creates a slot over `ports` (one per channel) and `ring`, which must hold
    /// interleaved float frames of `ports.count` channels. Control path.
    public init(direction: Direction, ports: [JackPort], ring: UnsafeMutablePointer<FrameRing>) {
        precondition(!ports.isEmpty, "a stream slot needs at least one port")
        precondition(ring.pointee.bytesPerFrame == ports.count * MemoryLayout<Float>.size,
                     "ring frames must be interleaved float with one sample per port")
        self.direction = direction
        self.channels = ports.count
        self.ring = ring
        self.ports = .allocate(capacity: ports.count)
        self.ports.initialize(from: ports.map(\.handle), count: ports.count)
        self.planes = .allocate(capacity: ports.count)
    }

    deinit {
        ports.deallocate()
        planes.deallocate()
    }

    /// Moves one period between the ring and the ports. Process thread only.
    @_noLocks
    func process(frames: UInt32) {
        for channel in 0..<channels {
            planes[channel] = trustedPortBuffer(ports[channel], frames)
        }
        let count = Int(frames)
        guard running.load(ordering: .acquiring) else {
            if direction == .render { silence(from: 0, frames: count) }
            return
        }
        switch direction {
        case .render: render(frames: count)
        case .capture: capture(frames: count)
        }
        devicePosition.add(UInt64(count), ordering: .releasing)
        let descriptor = eventDescriptor.load(ordering: .acquiring)
        if descriptor >= 0 { RealtimeEvent.Signal(fileDescriptor: descriptor).raise() }
    }

    @_noLocks
    private func render(frames: Int) {
        let region = ring.pointee.acquireRead(maxFrames: frames)
        deinterleave(region.first, firstFrames: region.firstFrames, at: 0)
        deinterleave(region.second, firstFrames: region.secondFrames, at: region.firstFrames)
        let delivered = region.frames()
        ring.pointee.commitRead(delivered)
        if delivered < frames {
            silence(from: delivered, frames: frames - delivered)
            ring.pointee.noteUnderrun(frames: frames - delivered)
        }
    }

    @_noLocks
    private func capture(frames: Int) {
        let region = ring.pointee.acquireWrite(maxFrames: frames)
        interleave(into: region.first, frames: region.firstFrames, from: 0)
        interleave(into: region.second, frames: region.secondFrames, from: region.firstFrames)
        ring.pointee.commitWrite(region.frames())
        ring.pointee.noteOverrun(frames: frames - region.frames())
    }

    @_noLocks
    private func deinterleave(_ bytes: UnsafeMutableRawBufferPointer, firstFrames frames: Int, at offset: Int) {
        guard frames > 0 else { return }
        let samples = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
        for channel in 0..<channels {
            let plane = planes[channel] + offset
            for frame in 0..<frames { plane[frame] = samples[frame * channels + channel] }
        }
    }

    @_noLocks
    private func interleave(into bytes: UnsafeMutableRawBufferPointer, frames: Int, from offset: Int) {
        guard frames > 0 else { return }
        let samples = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
        for channel in 0..<channels {
            let plane = planes[channel] + offset
            for frame in 0..<frames { samples[frame * channels + channel] = plane[frame] }
        }
    }

    @_noLocks
    private func silence(from offset: Int, frames: Int) {
        for channel in 0..<channels {
            trustedZero(UnsafeMutableRawPointer(planes[channel] + offset), frames * MemoryLayout<Float>.size)
        }
    }
}
