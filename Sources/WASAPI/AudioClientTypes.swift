import PCM

/// `AUDCLNT_SHAREMODE`.
public enum ShareMode: Int32, Sendable {
    /// The stream goes through the engine's mix (JACK sums it with others).
    case shared = 0
    /// The stream owns the endpoint (see docs/ARCHITECTURE.md for its state).
    case exclusive = 1
}

/// `AUDCLNT_STREAMFLAGS_*`, with Windows' values.
public struct StreamFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let crossProcess = StreamFlags(rawValue: 0x0001_0000)
    /// Capture what is rendered to a render endpoint.
    public static let loopback = StreamFlags(rawValue: 0x0002_0000)
    /// Event-driven buffering: the event set with `setEventHandle` fires once per period.
    public static let eventCallback = StreamFlags(rawValue: 0x0004_0000)
    public static let noPersist = StreamFlags(rawValue: 0x0008_0000)
    /// The sample rate can be changed with ``AudioClockAdjustment``.
    public static let rateAdjust = StreamFlags(rawValue: 0x0010_0000)
    /// With ``autoConvertPCM``: a better (sinc) resampler.
    public static let srcDefaultQuality = StreamFlags(rawValue: 0x0800_0000)
    /// Any valid PCM or float format is converted to the mix format.
    public static let autoConvertPCM = StreamFlags(rawValue: 0x8000_0000)
    /// `AUDCLNT_SESSIONFLAGS_*`: accepted; a volume mixer decides what to show.
    public static let sessionExpireWhenUnowned = StreamFlags(rawValue: 0x1000_0000)
    public static let sessionDisplayHide = StreamFlags(rawValue: 0x2000_0000)
    public static let sessionDisplayHideWhenExpired = StreamFlags(rawValue: 0x4000_0000)

    /// Every flag Initialize understands.
    static let known: StreamFlags = [.crossProcess, .loopback, .eventCallback, .noPersist, .rateAdjust,
                                     .srcDefaultQuality, .autoConvertPCM, .sessionExpireWhenUnowned,
                                     .sessionDisplayHide, .sessionDisplayHideWhenExpired]
}

/// `AUDCLNT_BUFFERFLAGS_*`.
public struct BufferFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Capture: a gap precedes this packet (overrun, or the first packet after Start).
    public static let dataDiscontinuity = BufferFlags(rawValue: 0x1)
    /// Render: treat the released frames as silence. Capture: the packet is silence.
    public static let silent = BufferFlags(rawValue: 0x2)
    /// Capture: the packet's timestamp is not reliable.
    public static let timestampError = BufferFlags(rawValue: 0x4)
}

/// A duration in Windows' `REFERENCE_TIME` unit: 100 nanoseconds.
public typealias ReferenceTime = Int64

extension ReferenceTime {
    /// 100-ns units per second.
    static let unitsPerSecond: Int64 = 10_000_000

    /// Frames at `rate` in `duration`, rounded up (Windows rounds buffer sizes up).
    static func frames(_ duration: ReferenceTime, rate: Int) -> Int {
        Int((duration * Int64(rate) + unitsPerSecond - 1) / unitsPerSecond)
    }

    /// Frames at `rate` in `duration`, rounded to the nearest: how Windows
    /// reads an exclusive-mode duration, which applications compute as
    /// `10_000_000 * frames / rate + 0.5`.
    static func nearestFrames(_ duration: ReferenceTime, rate: Int) -> Int {
        Int((duration * Int64(rate) + unitsPerSecond / 2) / unitsPerSecond)
    }

    /// The duration of `frames` at `rate`, rounded up.
    static func duration(frames: Int, rate: Int) -> ReferenceTime {
        (Int64(frames) * unitsPerSecond + Int64(rate) - 1) / Int64(rate)
    }
}

/// The answer of `IsFormatSupported`.
public enum FormatSupport: Sendable, Equatable {
    /// S_OK: the format is used as is.
    case supported
    /// S_FALSE: not as is; this is the closest format that is.
    case closestMatch(WaveFormat)
}

/// `IAudioClient3::GetSharedModeEnginePeriod`, in frames.
public struct EnginePeriod: Sendable, Equatable {
    public var defaultPeriodFrames: Int
    public var fundamentalPeriodFrames: Int
    public var minimumPeriodFrames: Int
    public var maximumPeriodFrames: Int
}

/// The interfaces `IAudioClient::GetService` hands out.
public enum AudioService: Sendable {
    case renderClient, captureClient, clock, streamVolume, clockAdjustment
}
