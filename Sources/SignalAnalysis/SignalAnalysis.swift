/// Measurements of test tones: what the demo, the latency command and the
/// tests use to check a signal that went through the graph.
///
/// Plain functions on arrays; any thread, not for the real-time path.
public enum SignalAnalysis {
    /// Frequency from the median spacing of upward zero crossings (linearly
    /// interpolated): robust to the odd period a JACK xrun drops.
    public static func frequency(_ samples: [Float], rate: Double) -> Double {
        var crossings: [Double] = []
        for index in 1..<samples.count where samples[index - 1] < 0 && samples[index] >= 0 {
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
        return Array(samples.dropFirst(start + lead).prefix(count))
    }
}
