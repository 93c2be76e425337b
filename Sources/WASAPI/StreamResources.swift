import JackEngine
import PCM
import Realtime
import Synchronization

/// What an initialised audio client owns in the JACK graph: its ports, its
/// ring, its slot in the process callback, and the bounce buffer that keeps
/// GetBuffer contiguous when the ring wraps.
///
/// Created by `IAudioClient::Initialize` on the caller's thread; released (ports
/// unregistered, slot withdrawn after the process thread let go of it) when
/// the audio client goes away.
final class StreamResources: @unchecked Sendable {
    let engine: AudioEngine
    let endpoint: EndpointDescriptor
    let direction: StreamSlot.Direction
    let isLoopback: Bool
    let format: WaveFormat
    let sampleFormat: SampleFormat
    let bufferFrames: Int
    let flags: StreamFlags
    let ports: [JackPort]
    let ring: RealtimeBox<FrameRing>
    let slot: RealtimeBox<StreamSlot>
    private let slotToken: InstalledSlot
    /// `bufferFrames` frames of the stream's format.
    let bounce: UnsafeMutableRawPointer
    /// The resampler's latency in engine frames, read before the process thread owned it.
    let resamplerLatencyFrames: Double
    private var listener: AudioEngine.ListenerToken?
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

    init(engine: AudioEngine, request: Request) throws(AudioError) {
        self.engine = engine
        endpoint = request.endpoint
        direction = request.direction
        isLoopback = request.isLoopback
        format = request.format
        sampleFormat = request.sampleFormat
        bufferFrames = request.bufferFrames
        flags = request.flags
        let client = engine.client
        let number = Self.streamCounter.add(1, ordering: .relaxed).newValue
        let channels = endpoint.channelCount
        let side = request.direction == .render ? "out" : "in"
        let positions = ChannelMask.defaultMask(forChannels: channels).positions.map(\.description)
        var registered: [JackPort] = []
        do {
            for index in 0..<channels {
                let shortName = "\(request.sessionTag).\(number).\(side)_\(index + 1)"
                let port = try client.registerPort(shortName, direction: request.direction == .render ? .output : .input)
                registered.append(port)
                if let uuid = Optional(client.uuid(of: port)), uuid != 0 {
                    let label = index < positions.count ? positions[index] : "\(index + 1)"
                    client.setProperty(MetadataKey.prettyName, of: uuid,
                                       to: "\(client.name) stream \(number) (\(request.sessionTag)) \(side) \(label)")
                }
            }
        } catch {
            registered.forEach(client.unregister)
            throw AudioError(error)
        }
        ports = registered

        let pipelineConfiguration = StreamPipeline.Configuration(
            direction: request.direction, sampleFormat: request.sampleFormat,
            streamChannels: Int(request.format.channels), streamMask: request.format.effectiveChannelMask,
            streamRate: Double(request.format.samplesPerSecond),
            portChannels: channels, portMask: ChannelMask.defaultMask(forChannels: channels),
            engineRate: Double(client.sampleRate), resamplerQuality: request.resamplerQuality)
        let pipeline: StreamPipeline
        do {
            pipeline = try StreamPipeline(pipelineConfiguration)
        } catch {
            registered.forEach(client.unregister)
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
            slotToken = try client.install(slot)
        } catch {
            registered.forEach(client.unregister)
            bounce.deallocate()
            throw AudioError(error)
        }
        // The stream adds one engine period of buffering plus the resampler:
        // the same figure GetStreamLatency reports.
        let added = client.bufferSize + Int(resamplerLatencyFrames.rounded(.up))
        for port in registered {
            client.reportLatency(of: port, isOutput: request.direction == .render, frames: added...added)
        }
        if request.autoConnect { connectToEndpoint() }
        let endpointID = endpoint.id
        let isLoopback = request.isLoopback
        let followsExclusiveUse = !request.isExclusive && !request.isLoopback
        listener = engine.addListener { [weak self] event in
            switch event {
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
    }

    deinit {
        if let listener { engine.removeListener(listener) }
        engine.client.uninstall(slotToken)
        ports.forEach(engine.client.unregister)
        bounce.deallocate()
    }

    /// Wires the stream to its endpoint: render ports into the endpoint's
    /// inputs, capture ports from its outputs; loopback ports from whatever
    /// feeds the endpoint.
    private func connectToEndpoint() {
        if isLoopback {
            mirrorEndpointSources()
            return
        }
        for (port, endpointPort) in zip(ports, endpoint.ports) {
            if direction == .render {
                try? engine.client.connect(port.name, to: endpointPort)
            } else {
                try? engine.client.connect(endpointPort, to: port.name)
            }
        }
    }

    /// Loopback: each of our input ports is connected to every source of the
    /// matching endpoint port, so JACK sums exactly the mix that endpoint
    /// receives. Runs again whenever connections change in the graph.
    private func mirrorEndpointSources() {
        let client = engine.client
        for (port, endpointPort) in zip(ports, endpoint.ports) {
            let wanted = Set(client.connections(ofPort: endpointPort))
            let current = Set(client.connections(ofPort: port.name))
            for source in wanted.subtracting(current) { try? client.connect(source, to: port.name) }
            for source in current.subtracting(wanted) { try? client.disconnect(source, from: port.name) }
        }
    }

    /// A shared stream plays (or records) silence while another stream holds
    /// its endpoint exclusively. Called on the engine's control thread.
    private func followExclusiveUse() {
        let held = ExclusiveLock.isHeld(serverName: engine.client.resolvedServerName, endpointID: endpoint.id)
        slot.pointer.pointee.silenced.store(held, ordering: .releasing)
    }

    /// Whether the endpoint went away since Initialize (AUDCLNT_E_DEVICE_INVALIDATED from now on).
    var isInvalidated: Bool { invalidated.load(ordering: .acquiring) }

    /// Marks the stream invalidated for good and stops its slot. Any thread.
    func invalidate() {
        invalidated.store(true, ordering: .releasing)
        slot.pointer.pointee.running.store(false, ordering: .releasing)
    }

    /// The extra latency JACK reports between our ports and the hardware
    /// (render: playback latency; capture: capture latency), in engine frames.
    func graphLatencyFrames() -> Int {
        ports.map { engine.client.latencyRange(of: $0, playback: direction == .render).upperBound }.max() ?? 0
    }
}
