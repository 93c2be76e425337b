import PCM
import Realtime
import Synchronization

/// The real-time half of one stream: its ports, its ring, its format
/// pipeline and its counters. Engine-independent: the engine that runs it
/// binds each port's buffer for the cycle (``bindPlane(_:to:)``) and then
/// calls ``process(frames:nanoseconds:)``.
///
/// A control thread builds the slot (allocating everything), installs it with
/// ``AudioEngine/install(_:)``, and from then on the process
/// callback moves one period per cycle between the ring and the ports through
/// the ``StreamPipeline``:
/// - render: ring (the application's format) -> ports -> ``gains``; a
///   shortfall plays silence and is counted, stale audio is never repeated;
/// - capture: ports -> ``gains`` -> ring, one ``CapturePacket`` per cycle; frames that do
///   not fit are dropped, counted as overrun, and the next packet carries
///   DATA_DISCONTINUITY.
///
/// While the slot is not ``running``, render ports carry silence and capture
/// ports are ignored. Every ``eventInterval`` cycles from the first Start on
/// (``eventsStarted``; stopped cycles too, as Windows keeps signalling after
/// Stop and Reset), once all slots have run, the slot raises its event, if
/// one is set.
///
/// Thread safety: the fields are fixed at creation except the atomics, which
/// control threads may set at any time. ``process(frames:nanoseconds:)`` is
/// `@_noLocks` and runs only on the engine's process thread.
public struct StreamSlot: ~Copyable, @unchecked Sendable {
    /// Which way audio flows through the slot.
    public enum Direction: UInt8, Sendable {
        /// Application -> ring -> output ports.
        case render
        /// Input ports -> ring -> application.
        case capture
    }

    public let direction: Direction
    /// Ports, one per endpoint channel.
    public let portCount: Int
    /// The ring of the stream's frames (application format) shared with the application side.
    public let ring: UnsafeMutablePointer<FrameRing>
    /// The format conversion between ring and ports.
    public let pipeline: UnsafeMutablePointer<StreamPipeline>
    /// Capture packets, in ring order (capture slots created with a packet
    /// capacity; otherwise unused and the ring is read directly).
    public let packets: UnsafeMutablePointer<CapturePacketQueue>
    /// The engine's handles of the ports (``EnginePort/handle``).
    @usableFromInline let ports: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// This cycle's port buffers, bound by the engine before ``process(frames:nanoseconds:)``.
    @usableFromInline let planes: UnsafeMutablePointer<UnsafeMutablePointer<Float>>

    /// Whether the process callback moves audio (IAudioClient::Start / Stop).
    public let running = Atomic<Bool>(false)
    /// The eventfd raised after each running cycle, or -1 for none.
    public let eventDescriptor = Atomic<Int32>(-1)
    /// Engine frames the slot has moved to or from the graph while running.
    public let devicePosition = Atomic<UInt64>(0)
    /// Stream frames taken from (render) or offered to (capture, dropped ones
    /// included) the ring while running.
    public let streamPosition = Atomic<UInt64>(0)
    /// Monotonic time of the last running cycle's start, in nanoseconds.
    public let lastCycleNanoseconds = Atomic<UInt64>(0)
    /// Frames of the last running cycle (engine frames).
    public let lastCycleFrames = Atomic<Int>(0)
    /// Capture: the next packet carries DATA_DISCONTINUITY (set by Start and by an overrun).
    public let discontinuityPending = Atomic<Bool>(true)
    /// Another stream holds the endpoint exclusively: render plays silence,
    /// capture records silence (the stream keeps its timing).
    public let silenced = Atomic<Bool>(false)
    /// Cycles per event (IAudioClient3 periods of several engine periods).
    public let eventInterval = Atomic<Int>(1)
    /// The stream was started once: its event fires every interval from
    /// then on, running or not (set by Start, never cleared).
    public let eventsStarted = Atomic<Bool>(false)
    private let cyclesSinceEvent = Atomic<Int>(0)
    /// The event is to be raised at the end of this cycle (``raiseDueEvent()``).
    private let eventDue = Atomic<Bool>(false)
    /// Session, endpoint and ducking gain per port, ramped, and the peak meter.
    public let gains: GainStage

    private let usesPackets: Bool

    /// Creates a slot over `ports` (one per endpoint channel), `ring` (frames
    /// of the pipeline's stream format) and `pipeline`, which the slot now owns.
    /// A capture slot with a `packetCapacity` describes each cycle's frames as
    /// a ``CapturePacket``; when the queue is full the cycle is dropped as an
    /// overrun. Control path.
    public init(direction: Direction, ports: [EnginePort], ring: UnsafeMutablePointer<FrameRing>,
                pipeline: consuming StreamPipeline, packetCapacity: Int = 0) {
        precondition(!ports.isEmpty, "a stream slot needs at least one port")
        precondition(pipeline.configuration.portChannels == ports.count, "one port per endpoint channel")
        precondition(ring.pointee.bytesPerFrame == pipeline.bytesPerFrame, "ring frames must be stream frames")
        self.direction = direction
        self.portCount = ports.count
        self.ring = ring
        self.pipeline = .allocate(capacity: 1)
        self.pipeline.initialize(to: pipeline)
        self.packets = .allocate(capacity: 1)
        self.usesPackets = direction == .capture && packetCapacity > 0
        self.packets.initialize(to: CapturePacketQueue(capacity: max(packetCapacity, 1)))
        self.ports = .allocate(capacity: ports.count)
        self.ports.initialize(from: ports.map(\.handle), count: ports.count)
        self.planes = .allocate(capacity: ports.count)
        self.gains = GainStage(channels: ports.count,
                               copyFrames: direction == .capture ? self.pipeline.pointee.configuration.maxCycleFrames : 0)
    }

    /// A slot whose ring holds interleaved float frames, one sample per port,
    /// at the engine's rate: no conversion. Control path.
    public init(direction: Direction, ports: [EnginePort], ring: UnsafeMutablePointer<FrameRing>) {
        let pipeline = StreamPipeline(.native(direction: direction, channels: ports.count))
        self.init(direction: direction, ports: ports, ring: ring, pipeline: pipeline)
    }

    deinit {
        pipeline.deinitialize(count: 1)
        pipeline.deallocate()
        packets.deinitialize(count: 1)
        packets.deallocate()
        ports.deallocate()
        planes.deallocate()
    }

    /// The engine's handle of port `channel`. Process thread (any thread: it never changes).
    @_noLocks @inlinable @inline(__always)
    public func portHandle(_ channel: Int) -> UnsafeMutableRawPointer { ports[channel] }

    /// Points `channel` at this cycle's buffer of its port (`frames` samples).
    /// The engine's cycle binds every channel before ``process(frames:nanoseconds:)``.
    /// Process thread only.
    @_noLocks @inlinable @inline(__always)
    public func bindPlane(_ channel: Int, to buffer: UnsafeMutablePointer<Float>) { planes[channel] = buffer }

    /// Moves one period between the ring and the ports, whose buffers the
    /// engine bound with ``bindPlane(_:to:)``. Process thread only.
    @_noLocks
    public func process(frames: UInt32, nanoseconds: UInt64) {
        // Local copies of the pointer fields that mutating calls go through.
        // `pipeline.pointee.render(...)` on the field itself is an inout
        // access rooted at the field, which ThreadSanitizer records as a
        // write of the slot's `pipeline` word while an application thread
        // reads that word (IAudioStreamVolume publishing through it). The
        // word is a `let` that nothing writes after Initialize; through a
        // local the access is rooted on this thread's stack. Same code in
        // release builds.
        let pipeline = self.pipeline, ring = self.ring
        let count = Int(frames)
        guard running.load(ordering: .acquiring), count <= pipeline.pointee.configuration.maxCycleFrames else {
            if direction == .render { silence(frames: count) }
            gains.meterSilence()
            if eventsStarted.load(ordering: .relaxed) { countEventCycle() }
            return
        }
        switch direction {
        case .render:
            let result = pipeline.pointee.render(from: ring, into: planes, frames: count)
            if silenced.load(ordering: .relaxed) { silence(frames: count) }
            gains.applyInPlace(planes, frames: count)
            streamPosition.add(UInt64(result.consumed), ordering: .releasing)
            if result.shortfall > 0 { ring.pointee.noteUnderrun(frames: result.shortfall) }
        case .capture:
            capture(frames: count, nanoseconds: nanoseconds)
        }
        devicePosition.add(UInt64(count), ordering: .releasing)
        lastCycleFrames.store(count, ordering: .relaxed)
        lastCycleNanoseconds.store(nanoseconds, ordering: .releasing)
        countEventCycle()
    }

    /// Counts a cycle towards the next event; marks it due every ``eventInterval``.
    @_noLocks
    private func countEventCycle() {
        if cyclesSinceEvent.add(1, ordering: .relaxed).newValue >= eventInterval.load(ordering: .relaxed) {
            cyclesSinceEvent.store(0, ordering: .relaxed)
            eventDue.store(true, ordering: .relaxed)
        }
    }

    /// Raises the stream's event if this cycle called for it. The graph calls
    /// it once every slot has run, so an application woken by a capture event
    /// always finds the cycle's render slots done, and what it writes plays in
    /// the next cycle, never sometimes in this one. Process thread only.
    @_noLocks
    public func raiseDueEvent() {
        guard eventDue.exchange(false, ordering: .relaxed) else { return }
        raiseEvent()
    }

    /// Raises the stream's event now, if one is set (the process thread after
    /// a cycle; a control thread when the stream is invalidated, to wake its
    /// waiter). Any thread; `@_noLocks`.
    @_noLocks
    public func raiseEvent() {
        let descriptor = eventDescriptor.load(ordering: .acquiring)
        if descriptor >= 0 { RealtimeEvent.Signal(fileDescriptor: descriptor).raise() }
    }

    @_noLocks
    private func capture(frames: Int, nanoseconds: UInt64) {
        let pipeline = self.pipeline, ring = self.ring, packets = self.packets  // see process(frames:nanoseconds:)
        let position = streamPosition.load(ordering: .relaxed)
        guard !usesPackets || packets.pointee.hasSpace() else {
            // No room to describe a packet: drop the cycle as an overrun.
            ring.pointee.noteOverrun(frames: frames)
            discontinuityPending.store(true, ordering: .relaxed)
            return
        }
        let inputs = UnsafeRawPointer(planes).assumingMemoryBound(to: UnsafePointer<Float>.self)
        let sources = gains.applyCopying(inputs, frames: frames)
        let result = pipeline.pointee.capture(from: sources, frames: frames, into: ring,
                                              silenced: silenced.load(ordering: .relaxed))
        streamPosition.add(UInt64(result.written + result.dropped), ordering: .releasing)
        if result.written > 0 && usesPackets {
            let discontinuity = discontinuityPending.exchange(false, ordering: .relaxed)
            _ = packets.pointee.push(CapturePacket(
                frames: result.written, devicePosition: position, qpcPosition: nanoseconds / 100,
                flags: discontinuity ? 0x1 : 0))  // AUDCLNT_BUFFERFLAGS_DATA_DISCONTINUITY
        }
        if result.dropped > 0 {
            ring.pointee.noteOverrun(frames: result.dropped)
            discontinuityPending.store(true, ordering: .relaxed)
        }
    }

    @_noLocks
    private func silence(frames: Int) {
        for channel in 0..<portCount {
            trustedZero(UnsafeMutableRawPointer(planes[channel]), frames * MemoryLayout<Float>.size)
        }
    }
}
