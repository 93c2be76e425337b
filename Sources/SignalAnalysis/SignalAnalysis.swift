/// Measurements of test tones: what the demo, the latency command and the
/// tests use to check a signal that went through the graph.
///
/// Plain functions on arrays; any thread, not for the real-time path.
public enum SignalAnalysis {
    /// Frequency from the median spacing of upward zero crossings (linearly
    /// interpolated): robust to the odd period a JACK xrun drops.
    /// Returns 0 when fewer than three crossings are found (empty or short input too).
    public static func frequency(_ samples: [Float], rate: Double) -> Double {
        var crossings: [Double] = []
        for index in samples.indices.dropFirst() where samples[index - 1] < 0 && samples[index] >= 0 {
            let fraction = Double(-samples[index - 1]) / Double(samples[index] - samples[index - 1])
            crossings.append(Double(index - 1) + fraction)
        }
        guard crossings.count > 2 else { return 0 }
        let spacings = zip(crossings.dropFirst(), crossings).map { $0 - $1 }.sorted()
        return rate / spacings[spacings.count / 2]
    }

    /// Peak amplitude from the RMS of a sine.
    public static func sineAmplitude(_ samples: [Float]) -> Double {
        guard !samples.isEmpty else { return 0 }
        let power = samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)
        return (2 * power).squareRoot()
    }

    /// The samples after the first `lead` non-silent ones are skipped,
    /// `count` long (the steady part of a tone).
    public static func steadyPart(_ samples: [Float], skip lead: Int, count: Int) -> [Float] {
        guard let start = samples.firstIndex(where: { abs($0) > 1e-4 }) else { return [] }
        return Array(samples.dropFirst(start + max(lead, 0)).prefix(max(count, 0)))
    }

    /// Why a recording could not be measured.
    public enum AnalysisError: Error, Equatable, CustomStringConvertible, Sendable {
        /// No samples at all (nothing was recorded, or all of it was silence).
        case empty
        /// Fewer samples than the measurement needs.
        case tooShort(count: Int, needed: Int)
        /// Samples, but not three upward zero crossings: no tone to measure.
        case noTone

        public var description: String {
            switch self {
            case .empty: "the recording is empty (nothing but silence arrived)"
            case let .tooShort(count, needed): "the recording has \(count) samples, fewer than the \(needed) needed"
            case .noTone: "the recording holds no tone (fewer than three zero crossings)"
            }
        }
    }

    /// A measured tone.
    public struct Tone: Equatable, Sendable {
        /// Hz, from ``frequency(_:rate:)``.
        public var frequency: Double
        /// Peak amplitude, from ``sineAmplitude(_:)``.
        public var amplitude: Double
    }

    /// Frequency and amplitude of the tone in `samples`, or why there is none:
    /// the checked form of ``frequency(_:rate:)`` and ``sineAmplitude(_:)``.
    public static func measureTone(_ samples: [Float], rate: Double,
                                   minimumCount: Int = 3) -> Result<Tone, AnalysisError> {
        guard !samples.isEmpty else { return .failure(.empty) }
        let needed = max(minimumCount, 3)
        guard samples.count >= needed else { return .failure(.tooShort(count: samples.count, needed: needed)) }
        let frequency = frequency(samples, rate: rate)
        guard frequency > 0, frequency.isFinite else { return .failure(.noTone) }
        return .success(Tone(frequency: frequency, amplitude: sineAmplitude(samples)))
    }
}
