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
    let ring: RealtimeBox<FrameRing>
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
    private var listener: DeviceGraph.ListenerToken?
    private let invalidated = Atomic<Bool>(false)

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

        let pipelineConfiguration = StreamPipeline.Configuration(
            direction: request.direction, sampleFormat: request.sampleFormat,
            streamChannels: Int(request.format.channels), streamMask: request.format.effectiveChannelMask,
            streamRate: Double(request.format.samplesPerSecond),
            portChannels: channels, portMask: ChannelMask.defaultMask(forChannels: channels),
            engineRate: Double(engine.sampleRate), resamplerQuality: request.resamplerQuality)
        let pipeline: StreamPipeline
        do {
            pipeline = try StreamPipeline(pipelineConfiguration)
        } catch {
            registered.forEach(engine.unregister)
            throw AudioError(error.hresult, "cannot create the \(request.resamplerQuality.map { "\($0)" } ?? "") resampler: \(error)")
        }
        let blockAlign = pipeline.bytesPerFrame
        resamplerLatencyFrames = pipeline.resamplerLatencyFrames
        ring = RealtimeBox(FrameRing(capacity: request.bufferFrames, bytesPerFrame: blockAlign))
        slot = RealtimeBox(StreamSlot(direction: request.direction, ports: registered, ring: ring.pointer,
                                      pipeline: pipeline,
                                      packetCapacity: max(1024, request.bufferFrames / 16 + 4)))
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
            case .endpointPresenceChanged(endpointID, false), .serverShutDown:
                self?.invalidate()
            default:
                break
            }
        }
        // The endpoint may have gone before the listener was in place.
        if graph.endpoint(id: endpointID)?.isPresent != true { invalidate() }
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

    /// Whether the endpoint went away since Initialize (AUDCLNT_E_DEVICE_INVALIDATED from now on).
    var isInvalidated: Bool { invalidated.load(ordering: .acquiring) }

    /// Marks the stream invalidated for good, stops its slot, and raises its
    /// event (as Windows does when an endpoint goes away under a stream), so
    /// that a thread waiting for the next buffer wakes and its next call
    /// answers AUDCLNT_E_DEVICE_INVALIDATED. Any thread.
    func invalidate() {
        guard !invalidated.exchange(true, ordering: .acquiringAndReleasing) else { return }
        slot.pointer.pointee.running.store(false, ordering: .releasing)
        slot.pointer.pointee.raiseEvent()
    }

    /// Throws AUDCLNT_E_DEVICE_INVALIDATED (and invalidates the stream for
    /// good) once the process thread reported a failure of the stream's
    /// sample-rate converter. A failed `src_process` produces nothing: the
    /// stream silently plays or records silence, the nearest Windows case
    /// being a device that stopped working under the stream, which
    /// applications handle by releasing the client and making a new one.
    /// Checked by GetCurrentPadding and GetBuffer. Under the client's lock.
    func checkConverter() throws(AudioError) {
        let pipeline = slot.pointer.pointee.pipeline
        let failures = pipeline.pointee.converterFailures.load(ordering: .acquiring)
        guard failures == 0 else {
            invalidate()
            let code = pipeline.pointee.lastConverterError.load(ordering: .relaxed)
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                             "the stream's sample-rate converter failed \(failures) time(s): \(ResamplerError(code: code))")
        }
    }

    /// The extra latency JACK reports between our ports and the hardware
    /// (render: playback latency; capture: capture latency), in engine frames.
    func graphLatencyFrames() -> Int {
        ports.map { engine.graphLatency(of: $0, playback: direction == .render) }.max() ?? 0
    }
}
