import FoundationEssentials

/// A wave format: the equivalent of Windows' WAVEFORMATEX and
/// WAVEFORMATEXTENSIBLE, field for field.
///
/// The stored fields are exactly the ones Windows carries, with Windows' widths,
/// so a format read with ``init(bytes:)`` and written with ``serialized()``
/// gives back the same bytes. Nothing is checked on construction: a format can
/// hold inconsistent values (as a C struct can) and ``validate()`` says what is
/// wrong, with the HRESULT WASAPI would return.
///
/// Thread safety: a value type; safe to share.
public struct WaveFormat: Hashable, Sendable, CustomStringConvertible {
    /// `wFormatTag`.
    public var formatTag: FormatTag
    /// `nChannels`.
    public var channels: UInt16
    /// `nSamplesPerSec`: frames per second.
    public var samplesPerSecond: UInt32
    /// `nAvgBytesPerSec`: must equal `samplesPerSecond * blockAlign`.
    public var averageBytesPerSecond: UInt32
    /// `nBlockAlign`: bytes per frame; must equal `channels * bitsPerSample / 8`.
    public var blockAlign: UInt16
    /// `wBitsPerSample`: container size of one sample in bits.
    public var bitsPerSample: UInt16
    /// `cbSize`: bytes of extension after the 18-byte header (22 for EXTENSIBLE).
    public var extraSize: UInt16
    /// `Samples.wValidBitsPerSample` (EXTENSIBLE only; otherwise equal to `bitsPerSample`).
    public var validBitsPerSample: UInt16
    /// `dwChannelMask` (EXTENSIBLE only; otherwise empty).
    public var channelMask: ChannelMask
    /// `SubFormat` (EXTENSIBLE only; otherwise the GUID matching the tag).
    public var subFormat: UUID

    /// `wFormatTag` values. Any 16-bit value can be represented; only the named
    /// ones are supported.
    public struct FormatTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// WAVE_FORMAT_PCM
        public static let pcm = FormatTag(rawValue: 0x0001)
        /// WAVE_FORMAT_IEEE_FLOAT
        public static let ieeeFloat = FormatTag(rawValue: 0x0003)
        /// WAVE_FORMAT_EXTENSIBLE
        public static let extensible = FormatTag(rawValue: 0xFFFE)

        public var description: String {
            switch self {
            case .pcm: "WAVE_FORMAT_PCM"
            case .ieeeFloat: "WAVE_FORMAT_IEEE_FLOAT"
            case .extensible: "WAVE_FORMAT_EXTENSIBLE"
            default: "format tag 0x" + String(rawValue, radix: 16)
            }
        }
    }

    /// Size of WAVEFORMATEX in bytes.
    public static let baseSize = 18
    /// Size of WAVEFORMATEXTENSIBLE in bytes.
    public static let extensibleSize = 40
    /// The `cbSize` WAVEFORMATEXTENSIBLE needs.
    public static let extensibleExtraSize: UInt16 = 22

    /// Creates a format from its fields as given; call ``validate()`` before using it.
    public init(formatTag: FormatTag, channels: UInt16, samplesPerSecond: UInt32,
                averageBytesPerSecond: UInt32, blockAlign: UInt16, bitsPerSample: UInt16,
                extraSize: UInt16 = 0, validBitsPerSample: UInt16? = nil,
                channelMask: ChannelMask = [], subFormat: UUID? = nil) {
        self.formatTag = formatTag
        self.channels = channels
        self.samplesPerSecond = samplesPerSecond
        self.averageBytesPerSecond = averageBytesPerSecond
        self.blockAlign = blockAlign
        self.bitsPerSample = bitsPerSample
        self.extraSize = extraSize
        self.validBitsPerSample = validBitsPerSample ?? bitsPerSample
        self.channelMask = channelMask
        self.subFormat = subFormat ?? (formatTag == .ieeeFloat ? .ieeeFloatSubFormat : .pcmSubFormat)
    }

    /// A consistent format for `sampleFormat`: WAVE_FORMAT_PCM or
    /// WAVE_FORMAT_IEEE_FLOAT when `extensible` is false (only possible for
    /// formats whose valid bits fill the container), otherwise
    /// WAVE_FORMAT_EXTENSIBLE with `channelMask` (the default mask for the
    /// channel count when nil).
    public init(_ sampleFormat: SampleFormat, sampleRate: Int, channels: Int,
                extensible: Bool = true, channelMask: ChannelMask? = nil) {
        let bits = UInt16(sampleFormat.bytesPerSample * 8)
        let block = UInt16(clamping: channels * sampleFormat.bytesPerSample)
        let plainTag: FormatTag = sampleFormat.isFloat ? .ieeeFloat : .pcm
        let useExtensible = extensible || sampleFormat.validBits != Int(bits)
        self.init(formatTag: useExtensible ? .extensible : plainTag,
                  channels: UInt16(clamping: channels),
                  samplesPerSecond: UInt32(clamping: sampleRate),
                  averageBytesPerSecond: UInt32(clamping: sampleRate * Int(block)),
                  blockAlign: block, bitsPerSample: bits,
                  extraSize: useExtensible ? WaveFormat.extensibleExtraSize : 0,
                  validBitsPerSample: UInt16(sampleFormat.validBits),
                  channelMask: useExtensible ? (channelMask ?? .defaultMask(forChannels: channels)) : [],
                  subFormat: sampleFormat.isFloat ? .ieeeFloatSubFormat : .pcmSubFormat)
    }

    /// The engine's mix format: WAVEFORMATEXTENSIBLE, 32-bit float.
    public static func extensibleFloat32(sampleRate: Int, channels: Int, channelMask: ChannelMask) -> WaveFormat {
        WaveFormat(.float32, sampleRate: sampleRate, channels: channels, channelMask: channelMask)
    }

    /// Whether the format carries the WAVEFORMATEXTENSIBLE extension.
    public var isExtensible: Bool { formatTag == .extensible }

    /// The sample encoding, or nil when the converter has none for this
    /// combination of tag, sub-format, container and valid bits.
    public var sampleFormat: SampleFormat? {
        let isFloat: Bool
        switch formatTag {
        case .pcm: isFloat = false
        case .ieeeFloat: isFloat = true
        case .extensible:
            if subFormat == .pcmSubFormat { isFloat = false }
            else if subFormat == .ieeeFloatSubFormat { isFloat = true }
            else { return nil }
        default: return nil
        }
        let valid = isExtensible ? validBitsPerSample : bitsPerSample
        if isFloat { return bitsPerSample == 32 && valid == 32 ? .float32 : nil }
        switch (bitsPerSample, valid) {
        case (8, 1...8): return .uint8
        case (16, 1...16): return .int16
        case (24, 1...24): return .int24Packed
        case (32, 1...24): return .int24In32
        case (32, 25...32): return .int32
        default: return nil
        }
    }

    /// The channel positions: the mask when the format has one, otherwise
    /// Windows' default for the channel count.
    public var effectiveChannelMask: ChannelMask {
        isExtensible && !channelMask.isEmpty ? channelMask : .defaultMask(forChannels: Int(channels))
    }

    public var description: String {
        let kind = sampleFormat?.description ?? "\(bitsPerSample)-bit \(formatTag)"
        var text = "\(kind), \(channels) ch, \(samplesPerSecond) Hz"
        if isExtensible && !channelMask.isEmpty { text += " [\(channelMask)]" }
        return text
    }
}

extension UUID {
    /// KSDATAFORMAT_SUBTYPE_PCM, 00000001-0000-0010-8000-00AA00389B71.
    public static let pcmSubFormat = UUID(uuidString: "00000001-0000-0010-8000-00AA00389B71")!
    /// KSDATAFORMAT_SUBTYPE_IEEE_FLOAT, 00000003-0000-0010-8000-00AA00389B71.
    public static let ieeeFloatSubFormat = UUID(uuidString: "00000003-0000-0010-8000-00AA00389B71")!

    /// From the 16 bytes of a GUID as Windows lays it out in memory (and in
    /// WAVEFORMATEXTENSIBLE): Data1, Data2 and Data3 little-endian, Data4 as is.
    public init(windowsBytes bytes: [UInt8]) {
        precondition(bytes.count == 16, "a GUID has 16 bytes")
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        let b = order.map { bytes[$0] }
        self.init(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                         b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    /// The 16 bytes as Windows lays the GUID out in memory.
    public var windowsBytes: [UInt8] {
        let u = uuid
        let canonical = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        return [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15].map { canonical[$0] }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
