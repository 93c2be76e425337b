import FoundationEssentials
import AudioGraph
import PCM
import Realtime
import Synchronization

/// `IAudioClient` / `IAudioClient3`: one stream on an endpoint.
///
/// Activate it with ``MMDevice/activateAudioClient()``, then ``initialize(shareMode:streamFlags:bufferDuration:periodicity:format:sessionGUID:)``,
/// get the render or capture service, ``start()``. Every method throws an
/// ``AudioError`` carrying the HRESULT Windows returns in the same situation,
/// and a rejected call leaves the client as it was.
///
/// Shared-mode rules (see docs/ARCHITECTURE.md, "Audio clients"):
/// - Buffer: the requested duration rounded up to whole frames, at least
///   three engine (JACK) periods plus the resampler's look-ahead.
/// - Formats: without AUTOCONVERTPCM, the engine's rate and the endpoint's
///   channel count (any sample format the converter has); with it, any valid
///   PCM or float format.
/// - Event-driven streams: the event fires once per JACK period (or per
///   period chosen with ``initializeSharedAudioStream(streamFlags:periodInFrames:format:sessionGUID:)``).
///
/// Thread safety: every method may be called from any thread except JACK's;
/// calls are serialised by an internal lock, which the process thread never takes.
public final class AudioClient: @unchecked Sendable {
    /// The endpoint this client was activated on.
    public let device: MMDevice
    /// The engine the endpoint had when this client was activated: a client
    /// activated before the server went away stays with the old one (and
    /// its streams invalidated), as on Windows after an audio service restart.
    let engine: any AudioEngine
    let state = Mutex(State())

    /// Whether Initialize connects the stream's ports to the endpoint (true,
    /// as on Windows), or leaves them for a patchbay to route.
    public var autoConnect: Bool {
        get { state.withLock { $0.autoConnect } }
        set { state.withLock { $0.autoConnect = newValue } }
    }

    struct State: @unchecked Sendable {
        var autoConnect = true
        var stream: StreamResources?
        var shareMode = ShareMode.shared
        var sessionGUID: String?
        var running = false
        var event: RealtimeEvent?
        var cyclesPerEvent = 1
        var pendingRender: PendingBuffer?
        var pendingCapture: PendingBuffer?
        var lastReportedPosition: UInt64 = 0
        /// Exclusive mode: the lock that makes this stream the endpoint's owner.
        var exclusiveLock: ExclusiveLock?
        /// The size AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED told the caller to use.
        var alignedBufferFrames: Int?
        /// IAudioClient2::SetClientProperties.
        var category = AudioStreamCategory.other
        /// The stream's place in its audio session.
        var session: SessionMembership?
    }

    /// A GetBuffer not yet released.
    struct PendingBuffer: @unchecked Sendable {
        var frames: Int
        /// The data lives in the bounce buffer, to be copied on release (render)
        /// or copied there on GetBuffer (capture).
        var bounced: Bool
        var region: RingRegion
    }

    init(device: MMDevice) {
        self.device = device
        engine = device.engine
    }

    /// Releases the stream within one API call's budget (``CallDeadline``):
    /// what the server holds past it is finished on the engine's own time.
    deinit {
        CallDeadline.within {
            let wasExclusive = state.withLock { state in
                defer { state.session = nil; state.stream = nil; state.exclusiveLock = nil }
                return state.exclusiveLock != nil
            }
            // Releasing cannot fail; if the server refuses the announcement it is
            // going away, and the other engines recheck on its shutdown anyway.
            if wasExclusive { announceExclusiveChange() }
        }
    }

    // MARK: Format

    /// `GetMixFormat`: float32 at the JACK rate with the endpoint's channels.
    public func getMixFormat() throws(AudioError) -> WaveFormat {
        guard let format = device.mixFormat, device.state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
        }
        return format
    }

    /// `IsFormatSupported`.
    /// - Returns: ``FormatSupport/supported`` (S_OK) or the closest match (S_FALSE).
    /// - Throws: E_INVALIDARG for a malformed format (naming the field),
    ///   AUDCLNT_E_UNSUPPORTED_FORMAT when nothing close exists (exclusive
    ///   mode: any format but the device's rate and channel count).
    public func isFormatSupported(_ shareMode: ShareMode, format: WaveFormat) throws(AudioError) -> FormatSupport {
        let mix = try getMixFormat()
        _ = try validated(format)
        guard shareMode == .shared else {
            guard format.samplesPerSecond == mix.samplesPerSecond && format.channels == mix.channels else {
                throw AudioError(.AUDCLNT_E_UNSUPPORTED_FORMAT,
                                 "exclusive mode takes the device's \(mix.samplesPerSecond) Hz, \(mix.channels) ch only")
            }
            return .supported
        }
        if format.samplesPerSecond == mix.samplesPerSecond && format.channels == mix.channels {
            return .supported
        }
        // Windows suggests the mix format itself (its tag, rate, channels and
        // bits), whatever sample depth was asked for.
        return .closestMatch(mix)
    }

    // MARK: Initialize

    /// `Initialize`.
    ///
    /// - Parameters:
    ///   - bufferDuration: requested buffer, 100-ns units (0: the minimum).
    ///   - periodicity: must be 0 in shared mode, as Windows documents.
    ///   - sessionGUID: the audio session to join (nil or GUID_NULL: the
    ///     process's default session); E_INVALIDARG if it is not a GUID.
    public func initialize(shareMode: ShareMode, streamFlags: StreamFlags, bufferDuration: ReferenceTime,
                           periodicity: ReferenceTime = 0, format: WaveFormat, sessionGUID: UUID? = nil) throws(AudioError) {
        try initializeStream(shareMode: shareMode, streamFlags: streamFlags, bufferDuration: bufferDuration,
                             periodicity: periodicity, format: format, sessionGUID: sessionGUID, cyclesPerEvent: 1)
    }

    /// `IAudioClient3::GetSharedModeEnginePeriod`: periods a shared stream of
    /// `format` may use, in frames of `format`. JACK's period is the
    /// fundamental, minimum and default; the maximum is 16 periods.
    public func getSharedModeEnginePeriod(format: WaveFormat) throws(AudioError) -> EnginePeriod {
        _ = try validated(format)
        let period = streamFrames(engineFrames: engine.bufferSize, rate: Int(format.samplesPerSecond))
        return EnginePeriod(defaultPeriodFrames: period, fundamentalPeriodFrames: period,
                            minimumPeriodFrames: period, maximumPeriodFrames: period * 16)
    }

    /// `IAudioClient3::InitializeSharedAudioStream`: a shared, event-capable
    /// stream whose period is `periodInFrames` (a whole number of JACK periods).
    /// - Throws: E_INVALIDARG for a period that is not a multiple of the
    ///   fundamental period or outside the minimum...maximum range.
    public func initializeSharedAudioStream(streamFlags: StreamFlags, periodInFrames: Int, format: WaveFormat,
                                            sessionGUID: UUID? = nil) throws(AudioError) {
        let periods = try getSharedModeEnginePeriod(format: format)
        guard periodInFrames >= periods.minimumPeriodFrames, periodInFrames <= periods.maximumPeriodFrames,
              periodInFrames % periods.fundamentalPeriodFrames == 0 else {
            throw AudioError(.E_INVALIDARG, "a period of \(periodInFrames) frames is not a multiple of \(periods.fundamentalPeriodFrames) between \(periods.minimumPeriodFrames) and \(periods.maximumPeriodFrames)")
        }
        let duration = ReferenceTime.duration(frames: periodInFrames * 2, rate: Int(format.samplesPerSecond))
        try initializeStream(shareMode: .shared, streamFlags: streamFlags, bufferDuration: duration, periodicity: 0,
                             format: format, sessionGUID: sessionGUID,
                             cyclesPerEvent: periodInFrames / periods.fundamentalPeriodFrames)
    }

    private func initializeStream(shareMode: ShareMode, streamFlags: StreamFlags, bufferDuration: ReferenceTime,
                                  periodicity: ReferenceTime, format: WaveFormat, sessionGUID: UUID?,
                                  cyclesPerEvent: Int) throws(AudioError) {
        // Several bounded waits (port requests, connections, metadata):
        // within one budget for the call.
        try CallDeadline.within { () throws(AudioError) in
            try state.withLock { state throws(AudioError) in
                guard state.stream == nil else {
                    throw AudioError(.AUDCLNT_E_ALREADY_INITIALIZED, "this audio client is already initialized")
                }
                guard StreamFlags.known.isSuperset(of: streamFlags) else {
                    throw AudioError(.E_INVALIDARG, "unknown stream flags 0x\(String(streamFlags.subtracting(.known).rawValue, radix: 16))")
                }
                guard bufferDuration >= 0, periodicity >= 0 else {
                    throw AudioError(.E_INVALIDARG, "durations cannot be negative")
                }
                guard bufferDuration <= 20 * ReferenceTime.unitsPerSecond else {
                    throw AudioError(.AUDCLNT_E_BUFFER_SIZE_ERROR, "a buffer of \(bufferDuration / 10_000) ms is over the 20 s limit")
                }
                guard let endpoint = device.descriptor, device.state == .active else {
                    throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
                }
                let isLoopback = streamFlags.contains(.loopback)
                if isLoopback && endpoint.flow != .render {
                    throw AudioError(.AUDCLNT_E_WRONG_ENDPOINT_TYPE, "loopback capture needs a render endpoint")
                }
                let sampleFormat = try validated(format)
                let session = AudioClient.sessionGUID(sessionGUID)
                let serverName = engine.serverName
                if shareMode == .exclusive {
                    if isLoopback {
                        throw AudioError(.AUDCLNT_E_WRONG_ENDPOINT_TYPE, "loopback capture is a shared-mode stream")
                    }
                    if streamFlags.contains(.rateAdjust) {
                        throw AudioError(.AUDCLNT_E_UNSUPPORTED_FORMAT, "AUDCLNT_STREAMFLAGS_RATEADJUST is a shared-mode flag")
                    }
                    guard isNativeFormat(format, endpoint: endpoint) else {
                        throw AudioError(.AUDCLNT_E_UNSUPPORTED_FORMAT,
                                         "exclusive mode takes the device's \(engine.sampleRate) Hz, \(endpoint.channelCount) ch only")
                    }
                    let frames = try exclusiveBufferFrames(streamFlags: streamFlags, bufferDuration: bufferDuration,
                                                           periodicity: periodicity, rate: Int(format.samplesPerSecond), state: &state)
                    let lock = try ExclusiveLock.acquire(serverName: serverName, endpointID: endpoint.id)
                    let request = StreamResources.Request(
                        endpoint: endpoint, direction: endpoint.flow == .capture ? .capture : .render,
                        isLoopback: false, isExclusive: true, format: format, sampleFormat: sampleFormat,
                        bufferFrames: frames, flags: streamFlags, resamplerQuality: nil,
                        sessionTag: "exclusive", autoConnect: state.autoConnect)
                    let stream = try StreamResources(graph: device.graph, engine: engine, request: request)
                    // Shared streams on the endpoint fall silent only when told:
                    // an exclusive stream nobody heard of is not exclusive. The
                    // stream and the lock are released when this throws.
                    guard announceExclusiveChange() else {
                        throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED,
                                         "JACK refused to announce exclusive use of endpoint \(endpoint.id) to the other streams")
                    }
                    state.stream = stream
                    state.exclusiveLock = lock
                    state.shareMode = .exclusive
                    state.sessionGUID = session
                    state.cyclesPerEvent = exclusiveCyclesPerEvent(periodicity: periodicity, rate: Int(format.samplesPerSecond))
                    joinSession(stream, guid: session, state: &state)
                    return
                }
                if !isLoopback && ExclusiveLock.isHeld(serverName: serverName, endpointID: endpoint.id) {
                    throw AudioError(.AUDCLNT_E_DEVICE_IN_USE, "endpoint \(endpoint.id) is in exclusive use by another stream")
                }
                let engineRate = engine.sampleRate
                let streamRate = Int(format.samplesPerSecond)
                let converts = streamFlags.contains(.autoConvertPCM)
                if !converts && (streamRate != engineRate || Int(format.channels) != endpoint.channelCount) {
                    throw AudioError(.AUDCLNT_E_UNSUPPORTED_FORMAT,
                                     "\(format) is not the engine's \(engineRate) Hz, \(endpoint.channelCount) ch; "
                                     + "use \(endpoint.channelCount) ch at \(engineRate) Hz or AUDCLNT_STREAMFLAGS_AUTOCONVERTPCM")
                }
                var quality = ResamplerQuality.forStreamFlags(autoConvertPCM: converts,
                                                              defaultQuality: streamFlags.contains(.srcDefaultQuality))
                if streamRate == engineRate && !streamFlags.contains(.rateAdjust) { quality = nil }
                if streamFlags.contains(.rateAdjust) && quality == nil { quality = .sincMedium }

                let period = streamFrames(engineFrames: engine.bufferSize, rate: streamRate)
                let minimum = 3 * period + 64
                let requested = ReferenceTime.frames(bufferDuration, rate: streamRate)
                guard requested <= streamRate * 20 else {
                    throw AudioError(.AUDCLNT_E_BUFFER_SIZE_ERROR, "a buffer of \(requested) frames is over the 20 s limit")
                }
                let request = StreamResources.Request(
                    endpoint: endpoint, direction: isLoopback || endpoint.flow == .capture ? .capture : .render,
                    isLoopback: isLoopback, isExclusive: false, format: format, sampleFormat: sampleFormat,
                    bufferFrames: max(requested, minimum), flags: streamFlags, resamplerQuality: quality,
                    sessionTag: String(session.filter { $0.isHexDigit }.prefix(8)), autoConnect: state.autoConnect)
                let stream = try StreamResources(graph: device.graph, engine: engine, request: request)
                state.stream = stream
                state.shareMode = shareMode
                state.sessionGUID = session
                state.cyclesPerEvent = cyclesPerEvent
                joinSession(stream, guid: session, state: &state)
            }
        }
    }

    /// The GUID of the session streams join when Initialize is given none.
    static let processSessionGUID = UUID().registryFormat

    // MARK: Queries

    /// `GetBufferSize`: the buffer in frames of the stream's format.
    /// After Initialize failed with AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED, the
    /// aligned size to retry with.
    public func getBufferSize() throws(AudioError) -> Int {
        if let aligned = state.withLock({ $0.stream == nil ? $0.alignedBufferFrames : nil }) { return aligned }
        return try withStream { stream, _ in stream.bufferFrames }
    }

    /// `GetStreamLatency`: one engine period (exclusive mode: the stream's
    /// period, whole JACK periods) plus the resampler's latency, in 100-ns units.
    public func getStreamLatency() throws(AudioError) -> ReferenceTime {
        try withStream { stream, state in
            let rate = engine.sampleRate
            let periods = state.shareMode == .exclusive ? state.cyclesPerEvent : 1
            let frames = Double(engine.bufferSize * periods) + stream.resamplerLatencyFrames
            return ReferenceTime.duration(frames: Int(frames.rounded(.up)), rate: rate)
        }
    }

    /// `GetCurrentPadding`: frames queued in the buffer (render: not yet
    /// played; capture: captured, not yet read).
    /// - Throws: DEVICE_INVALIDATED once the stream's sample-rate converter
    ///   failed (GetBuffer too).
    public func getCurrentPadding() throws(AudioError) -> Int {
        try withStream { stream, _ throws(AudioError) in
            try stream.checkConverter()
            return stream.padding()
        }
    }

    /// `GetDevicePeriod`: default and minimum period, both one JACK period (100-ns units).
    public func getDevicePeriod() throws(AudioError) -> (defaultPeriod: ReferenceTime, minimumPeriod: ReferenceTime) {
        guard device.state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
        }
        let rate = engine.sampleRate
        guard rate > 0 else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "the server of endpoint \(device.id) went away")
        }
        let period = ReferenceTime.duration(frames: engine.bufferSize, rate: rate)
        return (period, period)
    }

    /// Frames the engine played as silence because the buffer ran dry
    /// (render), or dropped because it was full (capture), since Initialize
    /// or Reset; engine frames when the stream resamples, else the stream's.
    /// Not a Windows call (Windows reports glitches through ETW only); for
    /// monitoring and load tests.
    public func glitchFrames() throws(AudioError) -> UInt64 {
        try withStream { stream, _ in
            let ring = stream.slot.pointer.pointee.ring
            return stream.direction == .render ? ring.pointee.underrunFrames() : ring.pointee.overrunFrames()
        }
    }

    /// The full JACK names of the stream's ports, one per endpoint channel,
    /// for routing them in a patchbay (not a Windows call).
    public func portNames() throws(AudioError) -> [String] {
        try withStream { stream, _ in stream.ports.map(\.name) }
    }

    // MARK: Helpers

    /// Runs `body` under the lock with the initialised, valid stream.
    /// - Throws: NOT_INITIALIZED before Initialize; DEVICE_INVALIDATED once the
    ///   endpoint's ports vanished or the server went away.
    func withStream<T>(_ body: (StreamResources, inout State) throws(AudioError) -> T) throws(AudioError) -> T {
        try state.withLock { state throws(AudioError) -> T in
            guard let stream = state.stream else {
                throw AudioError(.AUDCLNT_E_NOT_INITIALIZED, "initialize the audio client first")
            }
            // Once invalidated, a stream stays invalidated, as on Windows, even
            // if the endpoint's ports come back (its connections are gone).
            // The stream's own state says so: the device graph's control
            // thread invalidates it when its endpoint or the server goes, so
            // a call touches no engine and no process-wide lock.
            try stream.checkValid()
            return try body(stream, &state)
        }
    }

    /// Engine frames converted to frames at `rate`, rounded up.
    func streamFrames(engineFrames: Int, rate: Int) -> Int {
        let engineRate = max(engine.sampleRate, 1)
        return (engineFrames * rate + engineRate - 1) / engineRate
    }
}

/// The format's sample encoding, or the validation error as an AudioError.
/// A channel mask naming another number of speakers than the format has
/// channels is AUDCLNT_E_UNSUPPORTED_FORMAT, as Windows 10 answers it (the
/// format is well formed; nothing plays it).
func validated(_ format: WaveFormat) throws(AudioError) -> SampleFormat {
    do { return try format.validate() } catch {
        if error.field == "dwChannelMask" && format.channelMask.intersection(.reserved).isEmpty {
            throw AudioError(.AUDCLNT_E_UNSUPPORTED_FORMAT, "dwChannelMask: \(error.message)")
        }
        throw AudioError(error)
    }
}

extension MMDevice {
    /// `Activate(IID_IAudioClient)`.
    /// - Throws: DEVICE_INVALIDATED when the endpoint is not present.
    public func activateAudioClient() throws(AudioError) -> AudioClient {
        guard state == .active else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(id) is not present")
        }
        return AudioClient(device: self)
    }
}
