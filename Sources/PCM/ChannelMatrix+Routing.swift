/// What to do with a source channel whose speaker position has no place in
/// the destination and no down-mix rule that reaches it.
public enum UnmatchedChannels: Sendable {
    /// Leave it out of the mix.
    case drop
    /// Send it at unity to the first destination channel that receives
    /// nothing else (in channel order), so that extra channels pass through by
    /// index when the destination has spare channels; dropped when none is left.
    case byOrder
}

extension ChannelMatrix {
    /// -3 dB, the ITU-R BS.775 weight of the centre and surround channels in a
    /// two-channel down-mix.
    public static let minus3dB: Float = 0.707_106_77

    /// The matrix between two speaker layouts.
    ///
    /// A zero mask (or ``ChannelMask/all``) means Windows' default layout for
    /// the channel count (``ChannelMask/defaultMask(forChannels:)``). A mask
    /// names the positions of the first channels in bit order; channels beyond
    /// its bits have no position and count as unmatched.
    ///
    /// Rules, for each source channel:
    /// - Its position exists in the destination: unity to that channel
    ///   (identical positions pass straight through, so 7.1 to 7.1 is the identity).
    /// - A mono stream (one source channel) whose position the destination
    ///   lacks: unity to both front left and right (else to front centre).
    ///   This is the convention of desktop mixers: a mono signal sounds on each
    ///   speaker at the level it would have on a mono device; the -3 dB
    ///   constant-power pan law is kept for a centre that comes with a left and right.
    /// - Otherwise it folds down by ITU-R BS.775 (Table 2, "Lo/Ro"): centre to
    ///   left and right at -3 dB each; a surround (back or side) to its partner
    ///   surround if present, else to its front side at -3 dB; back centre to
    ///   both surrounds at -3 dB; LFE is dropped (BS.775 leaves it out of
    ///   down-mixes). Front left/right into a mono destination average (0.5 each).
    ///   Front left/right of centre go to front left/right; top (height)
    ///   positions go to the position below them. Folds chain, so 5.1 to mono
    ///   works. The sums are not normalised: a full-scale 5.1 signal can exceed
    ///   1.0 after the fold, as in BS.775; float keeps the excess.
    /// - Anything still unplaced follows `unmatched`.
    ///
    /// 5.1 and 7.1 to stereo therefore give
    /// `L = FL + 0.7071 FC + 0.7071 (BL + SL)`, `R` likewise, LFE dropped.
    ///
    /// Allocates: control path only.
    /// - Precondition: both channel counts positive.
    public init(sourceChannels: Int, sourceMask: ChannelMask = [],
                destinationChannels: Int, destinationMask: ChannelMask = [],
                unmatched: UnmatchedChannels = .byOrder) {
        precondition(sourceChannels > 0 && destinationChannels > 0, "a channel matrix needs at least one channel each way")
        let source = Self.positions(sourceMask, channels: sourceChannels)
        let destination = Self.positions(destinationMask, channels: destinationChannels)
        var rows = [[Float]](repeating: [Float](repeating: 0, count: sourceChannels), count: destinationChannels)
        var unplaced: [Int] = []

        for (channel, position) in source.enumerated() {
            let targets: [(Int, Float)]?
            if let position, sourceChannels == 1, !destination.contains(position) {
                targets = Self.duplicateMono(into: destination) ?? Self.route(position, into: destination)
            } else if let position {
                targets = Self.route(position, into: destination)
            } else {
                targets = nil
            }
            guard let targets else { unplaced.append(channel); continue }
            for (row, gain) in targets { rows[row][channel] += gain }
        }

        if unmatched == .byOrder {
            let idle = rows.indices.filter { row in rows[row].allSatisfy { $0 == 0 } }
            for (channel, row) in zip(unplaced, idle) { rows[row][channel] = 1 }
        }
        self.init(gains: rows)
    }

    /// The position of each channel, `nil` for channels the mask does not cover.
    static func positions(_ mask: ChannelMask, channels: Int) -> [ChannelMask?] {
        let effective = (mask.isEmpty || mask.contains(.all)) ? ChannelMask.defaultMask(forChannels: channels) : mask
        let named = effective.positions
        return (0..<channels).map { $0 < named.count ? named[$0] : nil }
    }

    /// A mono source into front left and right, else front centre; nil if neither exists.
    private static func duplicateMono(into destination: [ChannelMask?]) -> [(Int, Float)]? {
        if let left = destination.firstIndex(of: .frontLeft), let right = destination.firstIndex(of: .frontRight) {
            return [(left, Float(1)), (right, Float(1))]
        }
        return destination.firstIndex(of: .frontCenter).map { [($0, Float(1))] }
    }

    /// The destination channels and gains for one source position: the
    /// position itself, else the first fold-down alternative whose every target
    /// can be placed (recursively); `[]` for a position dropped on purpose (LFE),
    /// `nil` when nothing fits.
    private static func route(_ position: ChannelMask, into destination: [ChannelMask?],
                              visited: ChannelMask = []) -> [(Int, Float)]? {
        if let index = destination.firstIndex(of: position) { return [(index, 1)] }
        if position == .lowFrequency { return [] }
        let seen = visited.union(position)
        alternatives: for alternative in foldDown(position) {
            var placed: [(Int, Float)] = []
            for (target, gain) in alternative {
                guard !seen.contains(target), let routed = route(target, into: destination, visited: seen),
                      !routed.isEmpty else { continue alternatives }
                placed += routed.map { ($0.0, $0.1 * gain) }
            }
            return placed
        }
        return nil
    }

    /// Where a position goes when the destination lacks it, best alternative first.
    private static func foldDown(_ position: ChannelMask) -> [[(ChannelMask, Float)]] {
        let h = minus3dB
        switch position {
        case .frontLeft: return [[(.frontCenter, 0.5)]]
        case .frontRight: return [[(.frontCenter, 0.5)]]
        case .frontCenter: return [[(.frontLeft, h), (.frontRight, h)]]
        case .backLeft: return [[(.sideLeft, 1)], [(.frontLeft, h)]]
        case .backRight: return [[(.sideRight, 1)], [(.frontRight, h)]]
        case .sideLeft: return [[(.backLeft, 1)], [(.frontLeft, h)]]
        case .sideRight: return [[(.backRight, 1)], [(.frontRight, h)]]
        case .backCenter: return [[(.backLeft, h), (.backRight, h)], [(.sideLeft, h), (.sideRight, h)]]
        case .frontLeftOfCenter: return [[(.frontLeft, 1)]]
        case .frontRightOfCenter: return [[(.frontRight, 1)]]
        case .topCenter, .topFrontCenter: return [[(.frontCenter, 1)]]
        case .topFrontLeft: return [[(.frontLeft, 1)]]
        case .topFrontRight: return [[(.frontRight, 1)]]
        case .topBackLeft: return [[(.backLeft, 1)]]
        case .topBackRight: return [[(.backRight, 1)]]
        case .topBackCenter: return [[(.backCenter, 1)]]
        default: return []
        }
    }
}
