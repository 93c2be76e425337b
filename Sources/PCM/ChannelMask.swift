/// The speaker positions of a multichannel stream: WAVEFORMATEXTENSIBLE's
/// `dwChannelMask`, with Windows' SPEAKER_* bit values.
///
/// Channels in an interleaved frame appear in the order of the bits that are
/// set, lowest bit first. A mask of zero means "no positions assigned": the
/// channels are taken in the default order for their count
/// (``defaultMask(forChannels:)``).
public struct ChannelMask: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let frontLeft = ChannelMask(rawValue: 0x1)
    public static let frontRight = ChannelMask(rawValue: 0x2)
    public static let frontCenter = ChannelMask(rawValue: 0x4)
    public static let lowFrequency = ChannelMask(rawValue: 0x8)
    public static let backLeft = ChannelMask(rawValue: 0x10)
    public static let backRight = ChannelMask(rawValue: 0x20)
    public static let frontLeftOfCenter = ChannelMask(rawValue: 0x40)
    public static let frontRightOfCenter = ChannelMask(rawValue: 0x80)
    public static let backCenter = ChannelMask(rawValue: 0x100)
    public static let sideLeft = ChannelMask(rawValue: 0x200)
    public static let sideRight = ChannelMask(rawValue: 0x400)
    public static let topCenter = ChannelMask(rawValue: 0x800)
    public static let topFrontLeft = ChannelMask(rawValue: 0x1000)
    public static let topFrontCenter = ChannelMask(rawValue: 0x2000)
    public static let topFrontRight = ChannelMask(rawValue: 0x4000)
    public static let topBackLeft = ChannelMask(rawValue: 0x8000)
    public static let topBackCenter = ChannelMask(rawValue: 0x10000)
    public static let topBackRight = ChannelMask(rawValue: 0x20000)
    /// SPEAKER_RESERVED: bits Windows has not assigned. A mask using them is rejected.
    public static let reserved = ChannelMask(rawValue: 0x7FFC_0000)
    /// SPEAKER_ALL: "every speaker", allowed by Windows as a whole-mask value.
    public static let all = ChannelMask(rawValue: 0x8000_0000)

    // Windows' KSAUDIO_SPEAKER_* layouts.
    public static let mono: ChannelMask = [.frontCenter]
    public static let stereo: ChannelMask = [.frontLeft, .frontRight]
    public static let quad: ChannelMask = [.frontLeft, .frontRight, .backLeft, .backRight]
    public static let surround: ChannelMask = [.frontLeft, .frontRight, .frontCenter, .backCenter]
    public static let fivePointOne: ChannelMask = [.frontLeft, .frontRight, .frontCenter, .lowFrequency, .backLeft, .backRight]
    public static let fivePointOneSurround: ChannelMask = [.frontLeft, .frontRight, .frontCenter, .lowFrequency, .sideLeft, .sideRight]
    public static let sevenPointOneSurround: ChannelMask = fivePointOne.union([.sideLeft, .sideRight])

    /// Number of speaker positions in the mask.
    public var channelCount: Int { rawValue.nonzeroBitCount }

    /// The positions in interleaving order (lowest bit first).
    public var positions: [ChannelMask] {
        (0..<32).compactMap { bit in
            let position = ChannelMask(rawValue: 1 << UInt32(bit))
            return contains(position) ? position : nil
        }
    }

    /// The mask Windows assumes for a stream of `channels` channels when the
    /// format does not say: mono is front centre, stereo is front left/right,
    /// 4 is quad, 6 is 5.1, 8 is 7.1 surround; other counts take the lowest bits.
    public static func defaultMask(forChannels channels: Int) -> ChannelMask {
        switch channels {
        case 1: return .mono
        case 2: return .stereo
        case 3: return [.frontLeft, .frontRight, .frontCenter]
        case 4: return .quad
        case 5: return [.frontLeft, .frontRight, .frontCenter, .backLeft, .backRight]
        case 6: return .fivePointOne
        case 7: return fivePointOne.union(.backCenter)
        case 8: return .sevenPointOneSurround
        default:
            guard channels > 0 else { return [] }
            return ChannelMask(rawValue: channels >= 18 ? 0x3FFFF : (UInt32(1) << UInt32(channels)) - 1)
        }
    }

    static let names: [(ChannelMask, String)] = [
        (.frontLeft, "FL"), (.frontRight, "FR"), (.frontCenter, "FC"), (.lowFrequency, "LFE"),
        (.backLeft, "BL"), (.backRight, "BR"), (.frontLeftOfCenter, "FLC"), (.frontRightOfCenter, "FRC"),
        (.backCenter, "BC"), (.sideLeft, "SL"), (.sideRight, "SR"), (.topCenter, "TC"),
        (.topFrontLeft, "TFL"), (.topFrontCenter, "TFC"), (.topFrontRight, "TFR"),
        (.topBackLeft, "TBL"), (.topBackCenter, "TBC"), (.topBackRight, "TBR"),
    ]

    public var description: String {
        let known = ChannelMask.names.filter { contains($0.0) }.map(\.1)
        let rest = subtracting(ChannelMask(rawValue: 0x3FFFF))
        return (known + (rest.isEmpty ? [] : ["0x" + String(rest.rawValue, radix: 16)])).joined(separator: "|")
    }
}
