import CSampleRate

/// A streaming sample-rate converter for interleaved float frames: one
/// libsamplerate state (`SRC_STATE`) owned by a `~Copyable` value.
///
/// ## Use
/// Create it on a control thread when a stream is initialised. In each
/// process cycle ask ``inputFrames(forOutputFrames:)`` how many input frames
/// to offer for the period's output, offer at most that many, and advance the
/// input by the `consumed` count ``process(input:inputFrames:output:outputFrames:)``
/// returns. libsamplerate copies whatever input fits into its own buffer, so
/// offering more than asked moves frames from the caller's ring into the
/// converter and raises the latency; offering what it asks keeps the
/// converter's fill at its minimum (the look-ahead).
///
/// ## Ratio
/// The ratio is output rate / input rate. ``setRatio(_:)`` changes it from the
/// process thread (clock-drift correction): the next ``process`` call glides
/// linearly from the previous ratio to the new one across its output buffer,
/// as libsamplerate does when `SRC_DATA.src_ratio` changes between calls.
/// ``stepRatio(to:)`` jumps instead (`src_set_ratio`).
///
/// ## Latency
/// ``latencyFrames`` is what the converter adds to a stream, in output frames:
/// the input it holds back before it can produce an output (the sinc filter's
/// right half, ``lookaheadFrames``) plus its group delay (``delayFrames``: an
/// output frame `j` carries the input signal of output-time `j - delayFrames`).
/// Both are measured once in `init` by running a probe converter of the same
/// kind at the same ratio (see `ResamplerProbe`).
///
/// ## Thread safety
/// `init`, ``stepRatio(to:)``, ``reset()`` and `deinit` allocate, free or may
/// fail: control path only, never concurrently with ``process``.
/// ``process(input:inputFrames:output:outputFrames:)``, ``setRatio(_:)``,
/// ``inputFrames(forOutputFrames:)`` and the latency properties are
/// `@_noLocks` (no allocation, lock or reference counting; `src_process` is
/// the only C call) and run in the JACK process callback. One thread at a
/// time: the value is `~Copyable` and its mutating methods need exclusive access.
public struct Resampler: ~Copyable, @unchecked Sendable {
    /// The converter in use.
    public let quality: ResamplerQuality
    /// Interleaved channels per frame.
    public let channels: Int
    /// The ratio (output rate / input rate) the next ``process`` call ends at.
    public private(set) var ratio: Double {
        didSet {
            inverseRatio = 1 / ratio
            lookaheadAtRatio = characteristics.lookaheadAtUnity / min(ratio, 1)
        }
    }

    private let state: OpaquePointer
    private let characteristics: ResamplerProbe
    /// The ratio libsamplerate used last (where a glide starts).
    private var previousRatio: Double
    /// 1 / ``ratio``, and the look-ahead in input frames at ``ratio`` (the sinc
    /// filters widen by 1 / ratio when they down-sample): kept with the ratio
    /// so that the per-period arithmetic has no division.
    private var inverseRatio: Double
    private var lookaheadAtRatio: Double
    /// Estimate of input frames inside the converter that no output has
    /// accounted for yet (consumed minus produced / ratio, since the reset).
    private var heldInputFrames: Double = 0
    /// The last non-zero code `src_process` returned, 0 if none.
    public private(set) var lastErrorCode: Int32 = 0
    /// Calls of ``process(input:inputFrames:output:outputFrames:)`` that
    /// libsamplerate failed, since creation (``reset()`` keeps it: a
    /// converter that failed once is not trusted again). Read it where
    /// ``process`` runs; a stream's pipeline publishes it to control threads.
    public private(set) var failureCount: UInt64 = 0

    /// The lowest and highest ratio libsamplerate accepts (its SRC_MAX_RATIO is 256).
    public static let minimumRatio = 1.0 / 256
    public static let maximumRatio = 256.0

    /// Creates a converter from `inputRate` to `outputRate` (Hz).
    ///
    /// Allocates: control path only.
    /// - Throws: ``ResamplerError/invalidChannelCount(_:)``,
    ///   ``ResamplerError/invalidSampleRates(input:output:)``,
    ///   ``ResamplerError/unsupportedRatio(_:)`` or a libsamplerate error from `src_new`.
    public init(quality: ResamplerQuality, channels: Int, inputRate: Double, outputRate: Double) throws(ResamplerError) {
        guard inputRate > 0, outputRate > 0, inputRate.isFinite, outputRate.isFinite else {
            throw .invalidSampleRates(input: inputRate, output: outputRate)
        }
        try self.init(quality: quality, channels: channels, ratio: outputRate / inputRate)
    }

    /// Creates a converter with `ratio` = output rate / input rate.
    ///
    /// Allocates: control path only.
    public init(quality: ResamplerQuality, channels: Int, ratio: Double) throws(ResamplerError) {
        guard channels > 0, channels <= Int(Int32.max) else { throw .invalidChannelCount(channels) }
        try Self.validate(ratio)
        let characteristics = try ResamplerProbe(quality: quality, ratio: ratio)
        var error: Int32 = 0
        guard let state = src_new(quality.converterType, Int32(channels), &error) else {
            throw ResamplerError(code: error)
        }
        self.quality = quality
        self.channels = channels
        self.state = state
        self.characteristics = characteristics
        self.ratio = ratio
        self.previousRatio = ratio
        self.inverseRatio = 1 / ratio
        self.lookaheadAtRatio = characteristics.lookaheadAtUnity / min(ratio, 1)
    }

    deinit { src_delete(state) }

    /// Throws unless libsamplerate accepts `ratio`.
    static func validate(_ ratio: Double) throws(ResamplerError) {
        guard ratio.isFinite, src_is_valid_ratio(ratio) != 0 else { throw .unsupportedRatio(ratio) }
    }
}

// MARK: Real-time path

extension Resampler {
    /// Converts up to `inputFrames` frames from `input` into at most
    /// `outputFrames` frames at `output` (both interleaved, ``channels``
    /// floats per frame, not overlapping).
    ///
    /// Returns the frames taken from `input` and written to `output`. Input
    /// not consumed must be offered again next time. On a libsamplerate error
    /// (which valid arguments cannot cause) nothing is consumed or produced
    /// and ``lastError`` records it.
    ///
    /// `@_noLocks`: safe in the JACK process callback.
    @_noLocks
    public mutating func process(input: UnsafePointer<Float>, inputFrames: Int,
                                 output: UnsafeMutablePointer<Float>, outputFrames: Int) -> (consumed: Int, produced: Int) {
        var data = SRC_DATA(data_in: input, data_out: output,
                            input_frames: inputFrames, output_frames: outputFrames,
                            input_frames_used: 0, output_frames_gen: 0,
                            end_of_input: 0, src_ratio: ratio)
        let status = trustedSourceProcess(state, &data)
        guard status == 0 else {
            lastErrorCode = status
            failureCount &+= 1
            return (0, 0)
        }
        let consumed = data.input_frames_used, produced = data.output_frames_gen
        if consumed == inputFrames && produced < outputFrames {
            // Starved: the converter now holds exactly its look-ahead.
            heldInputFrames = lookaheadAtRatio
        } else {
            // Input per output frame; during a glide, about the mean ratio's.
            let inputPerOutput = previousRatio == ratio ? inverseRatio : 2 / (previousRatio + ratio)
            heldInputFrames += Double(consumed) - Double(produced) * inputPerOutput
        }
        previousRatio = ratio
        return (consumed, produced)
    }

    /// Sets the ratio (output rate / input rate) for the next ``process``
    /// call, which glides to it from the current one. Values outside
    /// ``minimumRatio`` ... ``maximumRatio`` are clamped; NaN is ignored.
    ///
    /// `@_noLocks`: safe in the JACK process callback.
    @_noLocks
    public mutating func setRatio(_ newRatio: Double) {
        guard !newRatio.isNaN else { return }
        ratio = newRatio < Self.minimumRatio ? Self.minimumRatio : (newRatio > Self.maximumRatio ? Self.maximumRatio : newRatio)
    }

    /// How many input frames to offer so that the next ``process`` call can
    /// produce `outputFrames` frames at the current ratio: `outputFrames / ratio`
    /// rounded up (during a glide, at the lower of the two ratios), plus the
    /// look-ahead the converter still lacks. Zero when the converter already
    /// holds enough.
    ///
    /// `@_noLocks`: safe in the JACK process callback.
    @_noLocks
    public func inputFrames(forOutputFrames outputFrames: Int) -> Int {
        let inputPerOutput = previousRatio == ratio ? inverseRatio : 1 / min(previousRatio, ratio)
        let needed = Double(outputFrames) * inputPerOutput + lookaheadAtRatio - heldInputFrames
        return needed > 0 ? Self.roundedUp(needed) : 0
    }

    /// Input frames the converter holds back at the current ratio before it
    /// can produce an output (the right half of its filter; 0 for zero-order
    /// hold and linear).
    public var lookaheadFrames: Int {
        @_noLocks get { Self.roundedUp(lookaheadAtRatio) }
    }

    /// Group delay in output frames at the current ratio: output frame `j`
    /// carries the input signal of output-time `j - delayFrames`, counting from
    /// the first frame after a reset. About 0 for the sinc converters (their
    /// filter is centred on the output instant, the delay is all look-ahead),
    /// one input frame for linear, one to one and a half for zero-order hold.
    public var delayFrames: Double {
        @_noLocks get { characteristics.delayInputFrames * ratio }
    }

    /// The latency the converter adds to a stream, in output frames at the
    /// current ratio: ``lookaheadFrames`` converted to output frames plus
    /// ``delayFrames``.
    public var latencyFrames: Double {
        @_noLocks get { lookaheadAtRatio * ratio + delayFrames }
    }

    /// The smallest integer not below `value` (>= 0). `rounded(.up)` is
    /// refused by `@_noLocks` (it names a resilient enum's metadata).
    @_noLocks @inline(__always)
    private static func roundedUp(_ value: Double) -> Int {
        let whole = Int(value)
        return Double(whole) < value ? whole + 1 : whole
    }
}

// MARK: Control path

extension Resampler {
    /// Sets the ratio without a glide: the next ``process`` call starts at it
    /// (`src_set_ratio`).
    ///
    /// Control path (it may throw).
    public mutating func stepRatio(to newRatio: Double) throws(ResamplerError) {
        try Self.validate(newRatio)
        let status = src_set_ratio(state, newRatio)
        guard status == 0 else { throw ResamplerError(code: status) }
        ratio = newRatio
        previousRatio = newRatio
    }

    /// Forgets all buffered input (`src_reset`), as for a new, unrelated
    /// piece of audio; quality, channels and ratio stay. The next ``process``
    /// starts at the current ratio without a glide.
    ///
    /// Control path: never concurrently with ``process``.
    public mutating func reset() {
        // src_reset fails only for a NULL state, which `init` rules out.
        _ = src_reset(state)
        heldInputFrames = 0
        previousRatio = ratio
        lastErrorCode = 0
    }

    /// The last error `src_process` reported, if any, with its text.
    public var lastError: ResamplerError? {
        lastErrorCode == 0 ? nil : ResamplerError(code: lastErrorCode)
    }
}
