import CSampleRate

/// The libsamplerate converter a ``Resampler`` uses.
///
/// libsamplerate documents a worst-case SNR of 97 dB for all three sinc
/// converters, with a passband of 80 % (fastest), 90 % (medium) and 97 %
/// (best) of the lower Nyquist frequency, and calls zero-order hold and linear
/// poor in quality but "blindingly fast". Measured here on a 1 kHz sine taken
/// 44.1 -> 48 -> 44.1 kHz (ResamplerTests): zero-order hold 28 dB, linear
/// 49 dB, sinc fastest 100 dB, medium 133 dB, best 143 dB.
public enum ResamplerQuality: Sendable, CaseIterable, CustomStringConvertible {
    /// SRC_ZERO_ORDER_HOLD: repeats the latest input sample.
    case zeroOrderHold
    /// SRC_LINEAR: straight-line interpolation between neighbouring samples.
    case linear
    /// SRC_SINC_FASTEST: band-limited, 80 % passband.
    case sincFastest
    /// SRC_SINC_MEDIUM_QUALITY: band-limited, 90 % passband.
    case sincMedium
    /// SRC_SINC_BEST_QUALITY: band-limited, 97 % passband.
    case sincBest

    /// The converter WASAPI's shared-mode stream flags ask for, or `nil` when
    /// they ask for none.
    ///
    /// - `AUDCLNT_STREAMFLAGS_AUTOCONVERTPCM` alone: ``linear``. Windows
    ///   describes `SRC_DEFAULT_QUALITY` as "better quality than the default
    ///   conversion but with a higher performance cost", so the default is the
    ///   cheap one; linear takes about 0.7 µs per 64-frame stereo period and
    ///   adds no look-ahead latency.
    /// - With `AUDCLNT_STREAMFLAGS_SRC_DEFAULT_QUALITY`: ``sincMedium``.
    ///   Stereo 44.1 -> 48 kHz in 64-frame periods (PCMBenchmarks, one core of
    ///   this 2-core machine) it takes about 14 µs per period, 1 % of the
    ///   1.33 ms period at 48 kHz: a core carries dozens of such streams
    ///   (shared/REALTIME_SWIFT.md measured 116x real time). ``sincFastest``
    ///   (about 7 µs) would halve that but cuts the passband from 90 % to 80 %
    ///   of Nyquist (about 19.8 kHz down to 17.6 kHz at 44.1 kHz), an audible
    ///   loss; ``sincBest`` (about 54 µs, 4 % of a period per stream) adds 144
    ///   input frames of look-ahead against medium's 47.
    /// - Without `AUTOCONVERTPCM` the stream must already be at the engine's
    ///   rate, so there is nothing to convert (`defaultQuality` alone is ignored).
    public static func forStreamFlags(autoConvertPCM: Bool, defaultQuality: Bool) -> ResamplerQuality? {
        guard autoConvertPCM else { return nil }
        return defaultQuality ? .sincMedium : .linear
    }

    /// libsamplerate's converter number (`src_new`'s `converter_type`).
    public var converterType: Int32 {
        switch self {
        case .zeroOrderHold: Int32(SRC_ZERO_ORDER_HOLD)
        case .linear: Int32(SRC_LINEAR)
        case .sincFastest: Int32(SRC_SINC_FASTEST)
        case .sincMedium: Int32(SRC_SINC_MEDIUM_QUALITY)
        case .sincBest: Int32(SRC_SINC_BEST_QUALITY)
        }
    }

    public var description: String {
        switch self {
        case .zeroOrderHold: "zero-order hold"
        case .linear: "linear"
        case .sincFastest: "sinc (fastest)"
        case .sincMedium: "sinc (medium)"
        case .sincBest: "sinc (best)"
        }
    }
}

/// Why a ``Resampler`` could not be created or changed.
public enum ResamplerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The channel count was zero or negative.
    case invalidChannelCount(Int)
    /// A sample rate was zero, negative or not finite.
    case invalidSampleRates(input: Double, output: Double)
    /// The ratio (output rate / input rate) is outside what libsamplerate
    /// accepts (1/256 ... 256) or not finite.
    case unsupportedRatio(Double)
    /// libsamplerate reported an error: its code and `src_strerror` text.
    case library(code: Int32, message: String)

    /// Creates the error for a libsamplerate error code.
    public init(code: Int32) {
        let text = src_strerror(code).map { String(cString: $0) } ?? "unknown libsamplerate error"
        self = .library(code: code, message: text)
    }

    /// The HRESULT a WASAPI call should return for this error.
    public var hresult: HRESULT {
        switch self {
        case .invalidChannelCount: .E_INVALIDARG
        case .invalidSampleRates, .unsupportedRatio: .AUDCLNT_E_UNSUPPORTED_FORMAT
        case .library(let code, _): code == 1 ? .E_OUTOFMEMORY : .E_FAIL  // 1 is SRC_ERR_MALLOC_FAILED
        }
    }

    public var description: String {
        switch self {
        case .invalidChannelCount(let channels): "resampler: invalid channel count \(channels) (must be at least 1)"
        case .invalidSampleRates(let input, let output): "resampler: invalid sample rates \(input) Hz -> \(output) Hz (must be positive)"
        case .unsupportedRatio(let ratio): "resampler: ratio \(ratio) is outside libsamplerate's range 1/256 ... 256"
        case .library(let code, let message): "libsamplerate error \(code): \(message)"
        }
    }
}
