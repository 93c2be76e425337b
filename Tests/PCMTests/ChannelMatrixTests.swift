import PCM
import Testing

private let h = ChannelMatrix.minus3dB

/// The gains of the matrix between two layouts (zero masks mean the default).
private func rows(_ sourceChannels: Int, _ sourceMask: ChannelMask = [],
                  to destinationChannels: Int, _ destinationMask: ChannelMask = [],
                  unmatched: UnmatchedChannels = .byOrder) -> [[Float]] {
    ChannelMatrix(sourceChannels: sourceChannels, sourceMask: sourceMask,
                  destinationChannels: destinationChannels, destinationMask: destinationMask,
                  unmatched: unmatched).rows
}

/// Applies `matrix` to interleaved `frames` and returns the planar result.
private func renderMix(_ matrix: borrowing ChannelMatrix, _ interleaved: [Float], gains: [Float]? = nil) -> [[Float]] {
    let frames = interleaved.count / matrix.sourceChannels
    let buffers = (0..<matrix.destinationChannels).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: frames) }
    defer { buffers.forEach { $0.deallocate() } }
    buffers.forEach { $0.initialize(repeating: .nan, count: frames) }
    interleaved.withUnsafeBufferPointer { source in
        buffers.withUnsafeBufferPointer { destinations in
            if let gains {
                gains.withUnsafeBufferPointer {
                    matrix.mixInterleavedToPlanar(source.baseAddress!, frames: frames, into: destinations.baseAddress!, outputGains: $0.baseAddress!)
                }
            } else {
                matrix.mixInterleavedToPlanar(source.baseAddress!, frames: frames, into: destinations.baseAddress!)
            }
        }
    }
    return buffers.map { Array(UnsafeBufferPointer(start: $0, count: frames)) }
}

/// Applies `matrix` to planar `channels` and returns the interleaved result.
private func captureMix(_ matrix: borrowing ChannelMatrix, _ channels: [[Float]], gains: [Float]? = nil) -> [Float] {
    let frames = channels[0].count
    let buffers = channels.map { channel -> UnsafeMutablePointer<Float> in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: frames)
        buffer.initialize(from: channel, count: frames)
        return buffer
    }
    defer { buffers.forEach { $0.deallocate() } }
    var output = [Float](repeating: .nan, count: frames * matrix.destinationChannels)
    let sources = buffers.map { UnsafePointer($0) }
    sources.withUnsafeBufferPointer { planar in
        output.withUnsafeMutableBufferPointer { destination in
            if let gains {
                gains.withUnsafeBufferPointer {
                    matrix.mixPlanarToInterleaved(planar.baseAddress!, frames: frames, into: destination.baseAddress!, outputGains: $0.baseAddress!)
                }
            } else {
                matrix.mixPlanarToInterleaved(planar.baseAddress!, frames: frames, into: destination.baseAddress!)
            }
        }
    }
    return output
}

struct ChannelMatrixTests {
    @Test("Identical layouts pass straight through")
    func identity() {
        #expect(rows(2, to: 2) == [[1, 0], [0, 1]])
        #expect(rows(6, to: 6) == (0..<6).map { row in (0..<6).map { $0 == row ? 1 : 0 } })
        #expect(rows(8, to: 8, .sevenPointOneSurround) == (0..<8).map { row in (0..<8).map { $0 == row ? 1 : 0 } })
    }

    @Test("A zero mask means the default layout for the channel count")
    func zeroMaskIsDefault() {
        #expect(rows(6, [], to: 2) == rows(6, .fivePointOne, to: 2, .stereo))
        #expect(rows(1, [], to: 2) == rows(1, .mono, to: 2, .stereo))
    }

    @Test("Mono to stereo: unity into both fronts")
    func monoToStereo() {
        #expect(rows(1, to: 2) == [[1], [1]])
    }

    @Test("Mono to 5.1: the centre position passes through")
    func monoToFivePointOne() {
        #expect(rows(1, to: 6) == [[0], [0], [1], [0], [0], [0]])
    }

    @Test("Stereo to mono: half of each")
    func stereoToMono() {
        #expect(rows(2, to: 1) == [[0.5, 0.5]])
    }

    @Test("5.1 to stereo (ITU-R BS.775): centre and surrounds at -3 dB, LFE dropped")
    func fivePointOneToStereo() {
        // FL FR FC LFE BL BR
        let expected: [[Float]] = [[1, 0, h, 0, h, 0], [0, 1, h, 0, 0, h]]
        #expect(rows(6, .fivePointOne, to: 2) == expected)
        // FL FR FC LFE SL SR
        #expect(rows(6, .fivePointOneSurround, to: 2) == expected)
    }

    @Test("7.1 to stereo: back and side surrounds both at -3 dB, LFE dropped")
    func sevenPointOneToStereo() {
        // FL FR FC LFE BL BR SL SR
        #expect(rows(8, .sevenPointOneSurround, to: 2) == [[1, 0, h, 0, h, 0, h, 0], [0, 1, h, 0, 0, h, 0, h]])
    }

    @Test("7.1 to 5.1 (side): back surrounds fold into the side pair")
    func sevenPointOneToFivePointOneSurround() {
        // Destination FL FR FC LFE SL SR.
        let expected: [[Float]] = [
            [1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0, 1],
        ]
        #expect(rows(8, .sevenPointOneSurround, to: 6, .fivePointOneSurround) == expected)
    }

    @Test("5.1 to mono: the folds chain (fronts 0.5, centre 1, surrounds 0.5 x -3 dB)")
    func fivePointOneToMono() {
        #expect(rows(6, to: 1) == [[0.5, 0.5, 1, 0, h * 0.5, h * 0.5]])
    }

    @Test("Quad to stereo and stereo to 5.1")
    func quadAndUpmix() {
        #expect(rows(4, to: 2) == [[1, 0, h, 0], [0, 1, 0, h]])
        // No up-mix: only the front pair sounds.
        #expect(rows(2, to: 6) == [[1, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0]])
    }

    @Test("Channels without a position pass through by order to idle channels, or are dropped")
    func unmatchedChannels() {
        // Four channels with a stereo mask: channels 2 and 3 have no position.
        #expect(rows(4, .stereo, to: 4, unmatched: .byOrder) ==
                [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        #expect(rows(4, .stereo, to: 4, unmatched: .drop) ==
                [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
        // A reserved position has no rule: it takes the first idle channel
        // (front centre of a 3-channel endpoint), not one already in use.
        let odd: ChannelMask = [.frontLeft, .frontRight, ChannelMask(rawValue: 0x4_0000)]
        #expect(rows(3, odd, to: 3) == [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        // No idle channel left: dropped.
        #expect(rows(3, odd, to: 2) == [[1, 0, 0], [0, 1, 0]])
    }

    @Test("By index ignores positions")
    func byIndex() {
        let matrix = ChannelMatrix.byIndex(sourceChannels: 3, destinationChannels: 2)
        #expect(matrix.rows == [[1, 0, 0], [0, 1, 0]])
    }

    @Test("Render: interleaved 5.1 frames mix into planar stereo")
    func renderVectors() {
        let matrix = ChannelMatrix(sourceChannels: 6, destinationChannels: 2)
        // Two frames of FL FR FC LFE BL BR.
        let frames: [Float] = [0.1, 0.2, 0.4, 0.9, 0.25, 0.5,
                               -0.1, 0, 0.5, -0.9, 0, -0.5]
        let planar = renderMix(matrix, frames)
        let left: [Float] = [0.1 + h * 0.4 + h * 0.25, -0.1 + h * 0.5]
        let right: [Float] = [0.2 + h * 0.4 + h * 0.5, 0 + h * 0.5 - h * 0.5]
        #expect(zip(planar[0], left).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(planar[1], right).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("Render: per-output gains apply in the same pass; channels with no source are silenced")
    func renderGainsAndSilence() {
        let matrix = ChannelMatrix(sourceChannels: 2, destinationChannels: 6)
        let planar = renderMix(matrix, [0.5, -0.25, 1, 1], gains: [0.5, 2, 1, 1, 1, 1])
        #expect(planar[0] == [0.25, 0.5])
        #expect(planar[1] == [-0.5, 2])
        #expect(planar[2...].allSatisfy { $0 == [0, 0] })
    }

    @Test("Capture: planar stereo mixes into an interleaved mono stream, and into stereo with gains")
    func captureVectors() {
        let toMono = ChannelMatrix(sourceChannels: 2, destinationChannels: 1)
        #expect(captureMix(toMono, [[1, 0.5, -1], [0, 0.5, 1]]) == [0.5, 0.5, 0])
        let toStereo = ChannelMatrix(sourceChannels: 2, destinationChannels: 2)
        #expect(captureMix(toStereo, [[1, 0.5], [-1, 0.25]], gains: [0.5, 4]) == [0.5, -4, 0.25, 1])
        let upmix = ChannelMatrix(sourceChannels: 1, destinationChannels: 2)
        #expect(captureMix(upmix, [[0.25, -0.5]]) == [0.25, 0.25, -0.5, -0.5])
    }

    @Test("Explicit gains: any matrix, including several sources per output")
    func explicitGains() {
        let matrix = ChannelMatrix(gains: [[0.5, 0.25, 0], [0, 0, 0], [1, 1, 1]])
        let planar = renderMix(matrix, [1, 2, 4, -1, -2, -4])
        #expect(planar == [[1, -1], [0, 0], [7, -7]])
        #expect(matrix.gain(destination: 0, source: 1) == 0.25)
    }
}
