import AudioGraph
import PCM
import Realtime
import Synchronization

/// What an initialised audio client owns in the engine's graph: its ports, its
/// ring, its slot in the process callback, and the bounce buffer that keeps
/// GetBuffer contiguous when the ring wraps.
///
/// Created by `IAudioClient::Initialize` on the caller's thread; released (ports
/// unregistered, slot withdrawn after the process thread let go of it) when
/// the audio client goes away.
final class StreamResources: @unchecked Sendable {
    let graph: DeviceGraph
    /// The engine the stream lives in, for its lifetime (the graph may move
    /// on to a fresh engine after a server restart; this stream does not).
    let engine: any AudioEngine
    let endpoint: EndpointDescriptor
    let direction: StreamSlot.Direction
    let isLoopback: Bool
    let format: WaveFormat
    let sampleFormat: SampleFormat
    let bufferFrames: Int
    let flags: StreamFlags
    let ports: [EnginePort]
    /// The application's frames: what GetBuffer hands out.
    let ring: RealtimeBox<FrameRing>
    /// Render streams with a resampler: the converter that moves `ring` into
    /// `engineRing` on the application's thread (see ``RenderConverter``), and
    /// the ring the process thread reads (float at the engine's rate).
    /// Used under the audio client's lock only.
    let converter: RealtimeBox<RenderConverter>?
    /// Capture streams with a resampler: the converter that turns the
    /// process thread's packets (float at the engine's rate, in
    /// `engineRing`) into the application's, before GetBuffer.
    let captureConverter: RealtimeBox<CaptureConverter>?
    let engineRing: RealtimeBox<FrameRing>?
    let slot: RealtimeBox<StreamSlot>
    private let slotToken: InstalledSlot
    /// `bufferFrames` frames of the stream's format.
    let bounce: UnsafeMutableRawPointer
    /// The resampler's latency in engine frames, read before the process thread owned it.
    let resamplerLatencyFrames: Double
    /// IAudioStreamVolume's per-channel levels: the control side's copy of
    /// what was last published to the pipeline's `volumes`. Read and written
    /// under the audio client's lock only; the `LatestValue` itself has one
    /// reader, the process thread, and is only ever written from here.
    var streamVolumes: [Float]
    /// The engine's rate when the stream was built: the rate its pipeline
    /// converts to, read by per-period calls without asking the engine.
    let engineRate: Int
    private var listener: DeviceGraph.ListenerToken?
    /// ``graphLatencyFrames(now:)``'s figure and when it was read (0: never).
    /// Under the audio client's lock.
    private var graphLatency = 0
    private var latencyCheckedAt: UInt64 = 0
    /// Why the stream was invalidated (``Invalidation``), 0 while it is valid.
    /// The device graph's control thread sets it when the endpoint or the
    /// server goes; per-period calls read only this.
    private let invalidation = Atomic<UInt8>(0)

    private static let streamCounter = Atomic<Int>(0)

    struct Request {
        var endpoint: EndpointDescriptor
        var direction: StreamSlot.Direction
        var isLoopback: Bool
        var isExclusive: Bool
        var format: WaveFormat
        var sampleFormat: SampleFormat
        var bufferFrames: Int
        var flags: StreamFlags
        var resamplerQuality: ResamplerQuality?
        var sessionTag: String
        var autoConnect: Bool
    }

    init(graph: DeviceGraph, engine: any AudioEngine, request: Request) throws(AudioError) {
        self.graph = graph
        self.engine = engine
        endpoint = request.endpoint
        direction = request.direction
        isLoopback = request.isLoopback
        format = request.format
        sampleFormat = request.sampleFormat
        bufferFrames = request.bufferFrames
        flags = request.flags
        let engineRate = engine.sampleRate
        self.engineRate = engineRate
        streamVolumes = Array(repeating: 1, count: Int(request.format.channels))
        let number = Self.streamCounter.add(1, ordering: .relaxed).newValue
        let channels = endpoint.channelCount
        let side = request.direction == .render ? "out" : "in"
        let positions = ChannelMask.defaultMask(forChannels: channels).positions.map(\.description)
        var registered: [EnginePort] = []
        do {
            for index in 0..<channels {
                let shortName = "\(request.sessionTag).\(number).\(side)_\(index + 1)"
                let label = index < positions.count ? positions[index] : "\(index + 1)"
                let port = try engine.registerPort(
                    shortName, direction: request.direction == .render ? .output : .input,
                    prettyName: "\(engine.clientName) stream \(number) (\(request.sessionTag)) \(side) \(label)")
                registered.append(port)
            }
        } catch {
            registered.forEach(engine.unregister)
            throw AudioError(error)
        }
        ports = registered

        let streamRate = Double(request.format.samplesPerSecond)
        let streamChannels = Int(request.format.channels)
        // Streams that resample do it on the application's side of the ring:
        // the process thread moves float at the engine's rate and only
        // applies the volume and the channel matrix.
        let convertsOnApplicationSide = request.resamplerQuality != nil
        let packetCapacity = max(1024, request.bufferFrames / 16 + 4)
        let pipelineConfiguration = StreamPipeline.Configuration(
            direction: request.direction, sampleFormat: convertsOnApplicationSide ? .float32 : request.sampleFormat,
            streamChannels: streamChannels, streamMask: request.format.effectiveChannelMask,
            portChannels: channels, portMask: ChannelMask.defaultMask(forChannels: channels))
        var converterBox: RealtimeBox<RenderConverter>?
        var captureBox: RealtimeBox<CaptureConverter>?
        do {
            if let quality = request.resamplerQuality, request.direction == .render {
                converterBox = RealtimeBox(try RenderConverter(
                    sampleFormat: request.sampleFormat, channels: streamChannels,
                    streamRate: streamRate, engineRate: Double(engineRate), quality: quality))
            } else if let quality = request.resamplerQuality {
                captureBox = RealtimeBox(try CaptureConverter(
                    sampleFormat: request.sampleFormat, channels: streamChannels, streamRate: streamRate,
                    engineRate: Double(engineRate), quality: quality, packetCapacity: packetCapacity))
            }
        } catch {
            registered.forEach(engine.unregister)
            throw AudioError(error.hresult, "cannot create the \(request.resamplerQuality.map { "\($0)" } ?? "") resampler: \(error)")
        }
        let blockAlign = streamChannels * request.sampleFormat.bytesPerSample
        // In engine frames: the render converter measures its output, the
        // capture converter its output at the stream's rate.
        resamplerLatencyFrames = converterBox?.pointer.pointee.latencyFrames
            ?? captureBox.map { $0.pointer.pointee.latencyFrames * Double(engineRate) / streamRate }
            ?? 0
        let pipeline = StreamPipeline(pipelineConfiguration)
        ring = RealtimeBox(FrameRing(capacity: request.bufferFrames, bytesPerFrame: blockAlign))
        let slotRing: UnsafeMutablePointer<FrameRing>
        converter = converterBox
        captureConverter = captureBox
        if convertsOnApplicationSide {
            // Room for the whole buffer at the nominal ratio, with a margin
            // for rate adjustment; what does not fit waits in `ring`
            // (render) or is dropped as an overrun (capture).
            let frames = Int((Double(request.bufferFrames) * Double(engineRate) / streamRate * 1.5).rounded(.up)) + 1024
            let engineRing = RealtimeBox(FrameRing(capacity: frames, bytesPerFrame: pipeline.bytesPerFrame))
            self.engineRing = engineRing
            slotRing = engineRing.pointer
        } else {
            engineRing = nil
            slotRing = ring.pointer
        }
        slot = RealtimeBox(StreamSlot(direction: request.direction, ports: registered, ring: slotRing,
                                      pipeline: pipeline,
                                      packetCapacity: packetCapacity))
        bounce = .allocate(byteCount: request.bufferFrames * blockAlign, alignment: 16)
        do {
            slotToken = try engine.install(slot)
        } catch {
            registered.forEach(engine.unregister)
            bounce.deallocate()
            throw AudioError(error)
        }
        // The stream adds one engine period of buffering plus the resampler:
        // the same figure GetStreamLatency reports.
        let added = engine.bufferSize + Int(resamplerLatencyFrames.rounded(.up))
        engine.reportLatency(of: registered, isOutput: request.direction == .render, frames: added)
        // Every stored property is set: when this throws, deinit uninstalls
        // the slot and unregisters the ports (which drops any connection
        // already made), so a failed Initialize leaves nothing registered.
        if request.autoConnect { try connectToEndpoint() }
        let endpointID = endpoint.id
        let isLoopback = request.isLoopback
        let followsExclusiveUse = !request.isExclusive && !request.isLoopback
        listener = graph.addListener { [weak self] event in
            switch event {
            case _ where self?.isInvalidated != false:
                // Invalidated for good: events of a later engine (the server back) are not for it.
                break
            case .connectionsChanged where isLoopback:
                self?.mirrorEndpointSources()
            case .propertyChanged(_, ExclusiveLock.changeKey) where followsExclusiveUse,
                 .propertyChanged(_, nil) where followsExclusiveUse:
                self?.followExclusiveUse()
            case .serverShutDown:
                self?.invalidate(.serverStopped)
            case .endpointPresenceChanged(endpointID, false):
                self?.invalidate(.endpointGone)
            default:
                break
            }
        }
        // The endpoint may have gone before the listener was in place.
        if graph.endpoint(id: endpointID)?.isPresent != true { invalidate(.endpointGone) }
    }

    deinit {
        if let listener { graph.removeListener(listener) }
        engine.uninstall(slotToken)
        ports.forEach(engine.unregister)
        bounce.deallocate()
    }

    /// Wires the stream to its endpoint: render ports into the endpoint's
    /// inputs, capture ports from its outputs; loopback ports from whatever
    /// feeds the endpoint.
    /// - Throws: AUDCLNT_E_ENDPOINT_CREATE_FAILED naming both ports when the
    ///   engine refuses a connection: a stream must not come up unwired and
    ///   report success.
    private func connectToEndpoint() throws(AudioError) {
        for (port, endpointPort) in zip(ports, endpoint.ports) {
            let pairs: [(source: String, destination: String)]
            if isLoopback {
                pairs = engine.connections(ofPort: endpointPort).map { ($0, port.name) }
            } else if direction == .render {
                pairs = [(port.name, endpointPort)]
            } else {
                pairs = [(endpointPort, port.name)]
            }
            for (source, destination) in pairs {
                do {
                    try engine.connect(source, to: destination)
                } catch {
                    throw AudioError(.AUDCLNT_E_ENDPOINT_CREATE_FAILED,
                                     "cannot connect \(source) to \(destination): \(error)")
                }
            }
        }
    }

    /// Loopback: each of our input ports is connected to every source of the
    /// matching endpoint port, so JACK sums exactly the mix that endpoint
    /// receives. Runs again whenever connections change in the graph, on the
    /// device graph's control thread: there is no caller to report a refused
    /// connection to (and no logger yet), so this stays best-effort and
    /// silent; the next graph change tries again.
    private func mirrorEndpointSources() {
        for (port, endpointPort) in zip(ports, endpoint.ports) {
            let wanted = Set(engine.connections(ofPort: endpointPort))
            let current = Set(engine.connections(ofPort: port.name))
            for source in wanted.subtracting(current) { try? engine.connect(source, to: port.name) }
            for source in current.subtracting(wanted) { try? engine.disconnect(source, from: port.name) }
        }
    }

    /// A shared stream plays (or records) silence while another stream holds
    /// its endpoint exclusively. Called on the engine's control thread.
    private func followExclusiveUse() {
        let held = ExclusiveLock.isHeld(serverName: engine.serverName, endpointID: endpoint.id)
        slot.pointer.pointee.silenced.store(held, ordering: .releasing)
    }

    /// Why a stream stopped for good.
    enum Invalidation: UInt8 {
        case endpointGone = 1
        case serverStopped = 2
        case converterFailed = 3
    }

    /// Whether the endpoint or the server went away since Initialize
    /// (AUDCLNT_E_DEVICE_INVALIDATED from now on).
    var isInvalidated: Bool { invalidation.load(ordering: .acquiring) != 0 }

    /// Throws AUDCLNT_E_DEVICE_INVALIDATED once the stream was invalidated.
    /// One atomic load of the stream's own state: no engine, no process-wide
    /// lock. Any thread.
    func checkValid() throws(AudioError) {
        let reason = invalidation.load(ordering: .acquiring)
        guard reason != 0 else { return }
        switch Invalidation(rawValue: reason) {
        case .serverStopped?:
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                             "the audio server '\(engine.serverName)' stopped; endpoint \(endpoint.id) is gone")
        case .converterFailed?:
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "the stream's sample-rate converter failed")
        default:
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(endpoint.id) is gone (its ports vanished)")
        }
    }

    /// Marks the stream invalidated for good (the first reason stays), stops
    /// its slot, and raises its event (as Windows does when an endpoint goes
    /// away under a stream), so that a thread waiting for the next buffer
    /// wakes and its next call answers AUDCLNT_E_DEVICE_INVALIDATED. Any thread.
    func invalidate(_ reason: Invalidation) {
        guard invalidation.compareExchange(expected: 0, desired: reason.rawValue,
                                           ordering: .acquiringAndReleasing).exchanged else { return }
        slot.pointer.pointee.running.store(false, ordering: .releasing)
        slot.pointer.pointee.raiseEvent()
    }

    /// Throws AUDCLNT_E_DEVICE_INVALIDATED (and invalidates the stream for
    /// good) once the stream's sample-rate converter failed. A failed
    /// `src_process` produces nothing: the stream silently plays or records
    /// silence, the nearest Windows case
    /// being a device that stopped working under the stream, which
    /// applications handle by releasing the client and making a new one.
    /// Checked by GetCurrentPadding and GetBuffer. Under the client's lock.
    func checkConverter() throws(AudioError) {
        let failure = converter.map { ($0.pointer.pointee.failureCount, $0.pointer.pointee.lastErrorCode) }
            ?? captureConverter.map { ($0.pointer.pointee.failureCount, $0.pointer.pointee.lastErrorCode) }
        if case let (failures, code)? = failure, failures > 0 {
            invalidate(.converterFailed)
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                             "the stream's sample-rate converter failed \(failures) time(s): \(ResamplerError(code: code))")
        }
    }

    // MARK: Application-side conversion (streams with a resampler)

    /// Render: converts what the application released into the engine ring,
    /// as far as it has room. Capture: converts the process thread's packets
    /// into the application's ring, as far as it has room. Nothing for
    /// streams without a resampler. Under the audio client's lock.
    func pumpConversion() {
        guard let engineRing else { return }
        if let converter {
            converter.pointer.pointee.pump(from: ring.pointer, into: engineRing.pointer)
        } else if let captureConverter {
            captureConverter.pointer.pointee.pump(packets: slot.pointer.pointee.packets, from: engineRing.pointer,
                                                  into: ring.pointer)
        }
    }

    /// GetCurrentPadding, in the application's frames: render, written and
    /// not yet played; capture, captured and not yet read. Under the audio
    /// client's lock.
    func padding() -> Int {
        pumpConversion()
        guard let converter, let engineRing else { return ring.pointer.pointee.fillLevel() }
        let consumed = converter.pointer.pointee.consumedStreamFrames(engineFramesRead: engineRing.pointer.pointee.totalRead())
        return Int(ring.pointer.pointee.totalWritten() - consumed)
    }

    /// Capture: the oldest packet in the application's frames, if any
    /// (converting what the process thread captured first). Under the audio
    /// client's lock.
    func nextCapturePacket() -> CapturePacket? {
        guard let captureConverter else { return slot.pointer.pointee.packets.pointee.peek() }
        pumpConversion()
        return captureConverter.pointer.pointee.peek()
    }

    /// Capture: drops the packet ``nextCapturePacket()`` returned. Under the audio client's lock.
    func popCapturePacket() {
        if let captureConverter {
            captureConverter.pointer.pointee.pop()
        } else {
            slot.pointer.pointee.packets.pointee.pop()
        }
    }

    /// Application frames the process thread has taken (render) or offered
    /// (capture) while running, since the last reset. Under the audio client's lock.
    func streamFramesMoved() -> UInt64 {
        let moved = slot.pointer.pointee.streamPosition.load(ordering: .acquiring)
        if let converter { return converter.pointer.pointee.consumedStreamFrames(engineFramesRead: moved) }
        if let captureConverter { return captureConverter.pointer.pointee.streamFrames(atEngineFrames: moved) }
        return moved
    }

    /// Sets the resampling ratio (IAudioClockAdjustment) for the frames
    /// converted from now on. Every RATEADJUST stream is shared and has a
    /// converter (Initialize refuses an exclusive one). Under the audio
    /// client's lock.
    func setRatio(_ ratio: Double) {
        converter?.pointer.pointee.setRatio(ratio)
        captureConverter?.pointer.pointee.setRatio(ratio)
    }

    /// Empties the engine ring and the converter (IAudioClient::Reset), with
    /// the stream stopped and out of the process thread's reach.
    func resetConversion() {
        engineRing?.pointer.pointee.reset()
        converter?.pointer.pointee.reset()
        captureConverter?.pointer.pointee.reset()
    }

    /// The extra latency JACK reports between our ports and the hardware
    /// (render: playback latency; capture: capture latency), in engine
    /// frames, as of at most 100 ms before `now` (engine nanoseconds). The
    /// engine is asked (JACK: under its client's lock, which every stream of
    /// the process shares) only when the figure is older, so per-period calls
    /// (GetPosition) almost never touch that lock; the latency changes only
    /// when the graph's connections do. Under the audio client's lock.
    func graphLatencyFrames(now: UInt64) -> Int {
        if latencyCheckedAt == 0 || now &- latencyCheckedAt > 100_000_000 {
            var largest = 0
            for port in ports { largest = max(largest, engine.graphLatency(of: port, playback: direction == .render)) }
            graphLatency = largest
            latencyCheckedAt = max(now, 1)
        }
        return graphLatency
    }
}
