/// A precomputed gain matrix from one channel layout to another: every
/// destination channel is a weighted sum of source channels.
///
/// Build it on a control thread when a stream is initialised (it allocates);
/// apply it on the JACK process thread. A render stream maps its interleaved
/// float frames (stream channels) onto planar JACK port buffers (endpoint
/// channels) with ``mixInterleavedToPlanar(_:frames:into:outputGains:)``; a
/// capture stream maps planar port buffers (endpoint channels) to interleaved
/// frames (stream channels) with ``mixPlanarToInterleaved(_:frames:into:outputGains:)``.
/// The matrix always goes from "source" to "destination", so a capture
/// stream's matrix is built with the endpoint as its source.
///
/// The mapping rules for speaker positions (pass-through, mono duplication,
/// ITU-R BS.775 down-mixes) are in ``init(sourceChannels:sourceMask:destinationChannels:destinationMask:unmatched:)``.
///
/// ## Thread safety
/// Immutable after `init`. The two `mix…` functions are `@_noLocks` (no
/// allocation, lock or reference counting) and may run in the process
/// callback, concurrently with each other and with ``gain(destination:source:)``.
/// `init` and `deinit` allocate and free: control path only. The matrix is
/// `~Copyable` so that the process callback's state can own it without a
/// reference count; keep that state in stable memory.
public struct ChannelMatrix: ~Copyable, @unchecked Sendable {
    /// Channels in the source (the interleaved stream for render, the endpoint for capture).
    public let sourceChannels: Int
    /// Channels in the destination.
    public let destinationChannels: Int

    /// Dense gains, `destinationChannels` rows of `sourceChannels` columns.
    private let gains: UnsafeMutablePointer<Float>
    /// The non-zero gains of each destination row, in compressed-row form:
    /// row `d` uses taps `tapStart[d] ..< tapStart[d + 1]`.
    private let tapStart: UnsafeMutablePointer<Int>
    private let tapSource: UnsafeMutablePointer<Int>
    private let tapGain: UnsafeMutablePointer<Float>

    /// A matrix with explicit gains: `gains[d][s]` is the weight of source
    /// channel `s` in destination channel `d`.
    ///
    /// Allocates: control path only.
    /// - Precondition: at least one row and one column, all rows the same length.
    public init(gains rows: [[Float]]) {
        precondition(!rows.isEmpty && !rows[0].isEmpty, "a channel matrix needs at least one channel each way")
        let columns = rows[0].count
        precondition(rows.allSatisfy { $0.count == columns }, "every row of a channel matrix has one gain per source channel")
        sourceChannels = columns
        destinationChannels = rows.count

        gains = .allocate(capacity: rows.count * columns)
        gains.initialize(from: rows.flatMap { $0 }, count: rows.count * columns)

        let taps = rows.map { row in row.indices.filter { row[$0] != 0 } }
        let tapCount = taps.reduce(0) { $0 + $1.count }
        tapStart = .allocate(capacity: rows.count + 1)
        tapSource = .allocate(capacity: max(tapCount, 1))
        tapGain = .allocate(capacity: max(tapCount, 1))
        var next = 0
        for (row, columnsUsed) in taps.enumerated() {
            tapStart[row] = next
            for column in columnsUsed {
                tapSource[next] = column
                tapGain[next] = rows[row][column]
                next += 1
            }
        }
        tapStart[rows.count] = next
    }

    /// Source channel `i` to destination channel `i` at unity, for every
    /// channel both sides have; positions are ignored, extra source channels
    /// are dropped and extra destination channels stay silent.
    ///
    /// Allocates: control path only.
    public static func byIndex(sourceChannels: Int, destinationChannels: Int) -> ChannelMatrix {
        precondition(sourceChannels > 0 && destinationChannels > 0, "a channel matrix needs at least one channel each way")
        let rows = (0..<destinationChannels).map { destination in
            (0..<sourceChannels).map { source in source == destination ? Float(1) : 0 }
        }
        return ChannelMatrix(gains: rows)
    }

    deinit {
        gains.deallocate()
        tapStart.deallocate()
        tapSource.deallocate()
        tapGain.deallocate()
    }

    /// The weight of source channel `source` in destination channel `destination`.
    public func gain(destination: Int, source: Int) -> Float {
        precondition((0..<destinationChannels).contains(destination) && (0..<sourceChannels).contains(source),
                     "channel index out of range")
        return gains[destination * sourceChannels + source]
    }

    /// The whole matrix as rows (one per destination channel), for logs and tests.
    public var rows: [[Float]] {
        (0..<destinationChannels).map { destination in
            (0..<sourceChannels).map { gain(destination: destination, source: $0) }
        }
    }
}

// MARK: Applying (real-time)

extension ChannelMatrix {
    /// Mixes `frames` interleaved frames of ``sourceChannels`` floats into
    /// ``destinationChannels`` planar buffers, overwriting them (a destination
    /// with no source is filled with silence).
    ///
    /// - Parameters:
    ///   - source: `frames * sourceChannels` interleaved samples.
    ///   - destinations: ``destinationChannels`` pointers, each to `frames` floats
    ///     (for example JACK port buffers); none may overlap `source`.
    ///   - outputGains: optional ``destinationChannels`` extra gains, one per
    ///     destination channel, applied in the same pass (channel volumes).
    ///
    /// `@_noLocks`: safe in the JACK process callback.
    @_noLocks
    public func mixInterleavedToPlanar(_ source: UnsafePointer<Float>, frames: Int,
                                       into destinations: UnsafePointer<UnsafeMutablePointer<Float>>,
                                       outputGains: UnsafePointer<Float>? = nil) {
        let stride = sourceChannels
        for row in 0..<destinationChannels {
            let output = destinations[row]
            let scale = outputGains?[row] ?? 1
            let first = tapStart[row], end = tapStart[row &+ 1]
            guard first < end else {
                for frame in 0..<frames { output[frame] = 0 }
                continue
            }
            let input = source + tapSource[first]
            let gain = tapGain[first] * scale
            for frame in 0..<frames { output[frame] = input[frame &* stride] * gain }
            for tap in (first &+ 1)..<end {
                let input = source + tapSource[tap]
                let gain = tapGain[tap] * scale
                for frame in 0..<frames { output[frame] += input[frame &* stride] * gain }
            }
        }
    }

    /// Mixes ``sourceChannels`` planar buffers of `frames` floats into
    /// `frames` interleaved frames of ``destinationChannels`` floats,
    /// overwriting them (a destination with no source is filled with silence).
    ///
    /// - Parameters:
    ///   - sources: ``sourceChannels`` pointers, each to `frames` floats
    ///     (for example JACK capture port buffers).
    ///   - destination: room for `frames * destinationChannels` samples; must
    ///     not overlap any source.
    ///   - outputGains: optional ``destinationChannels`` extra gains, one per
    ///     destination channel, applied in the same pass.
    ///
    /// `@_noLocks`: safe in the JACK process callback.
    @_noLocks
    public func mixPlanarToInterleaved(_ sources: UnsafePointer<UnsafePointer<Float>>, frames: Int,
                                       into destination: UnsafeMutablePointer<Float>,
                                       outputGains: UnsafePointer<Float>? = nil) {
        let stride = destinationChannels
        for row in 0..<destinationChannels {
            let output = destination + row
            let scale = outputGains?[row] ?? 1
            let first = tapStart[row], end = tapStart[row &+ 1]
            guard first < end else {
                for frame in 0..<frames { output[frame &* stride] = 0 }
                continue
            }
            let input = sources[tapSource[first]]
            let gain = tapGain[first] * scale
            for frame in 0..<frames { output[frame &* stride] = input[frame] * gain }
            for tap in (first &+ 1)..<end {
                let input = sources[tapSource[tap]]
                let gain = tapGain[tap] * scale
                for frame in 0..<frames { output[frame &* stride] += input[frame] * gain }
            }
        }
    }
}
