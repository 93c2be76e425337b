import CSampleRate
import Glibc

/// The latency figures of one libsamplerate converter at one ratio, measured
/// by running mono probe converters of the same kind (control path: it
/// allocates and takes from a fraction of a millisecond up to tens of
/// milliseconds for sinc best at extreme ratios).
///
/// - Look-ahead: feed a block and let the converter produce all it can; the
///   input fed minus output produced / ratio is what it holds back. Measured
///   at ratio 1 (or the ratio itself when above 1): the sinc filters keep
///   their width when up-sampling and widen by slightly less than 1 / ratio
///   when down-sampling, so dividing the unity figure by the ratio never
///   understates it.
/// - Group delay: feed a low sine (5 % of the lower Nyquist band, inside every
///   converter's passband, where all of them have linear phase) at the ratio
///   itself, fit a sine to the output by least squares and compare its phase
///   with the ideal resampled sine: `d = -phase / ω`. Zero-order hold's delay
///   depends on the ratio (how the hold instants fall), so after a large
///   ratio change its figure is approximate to half an input frame.
struct ResamplerProbe: Sendable {
    /// Input frames held back at ratio 1 (and above).
    let lookaheadAtUnity: Double
    /// Group delay in input frames.
    let delayInputFrames: Double

    init(quality: ResamplerQuality, ratio: Double) throws(ResamplerError) {
        let narrowing = min(ratio, 1)
        let cyclesPerInputFrame = 0.05 * narrowing
        let inputCount = Int((2048 / narrowing).rounded(.up))
        let sine = (0..<inputCount).map { Float(sin(2 * Double.pi * cyclesPerInputFrame * Double($0))) }
        let output = try Self.convert(sine, quality: quality, ratio: ratio)

        let heldBack = max(0, Double(inputCount) - Double(output.count) / ratio)
        if ratio >= 1 {
            lookaheadAtUnity = heldBack
        } else {
            let unity = try Self.convert([Float](repeating: 0, count: 2048), quality: quality, ratio: 1)
            lookaheadAtUnity = max(0, Double(2048 - unity.count))
        }

        // Skip the filter's start-up (the sine switches on at input frame 0).
        let firstFitted = Int(2 * heldBack * ratio) + 32
        let omega = 2 * Double.pi * cyclesPerInputFrame / ratio
        let phase = Self.fittedPhase(output[firstFitted...], from: firstFitted, radiansPerFrame: omega)
        delayInputFrames = -phase / omega / ratio
    }

    /// Runs `input` through a new mono converter and returns all the output
    /// it produces without being told the input has ended.
    private static func convert(_ input: [Float], quality: ResamplerQuality, ratio: Double) throws(ResamplerError) -> [Float] {
        var error: Int32 = 0
        guard let state = src_new(quality.converterType, 1, &error) else { throw ResamplerError(code: error) }
        defer { src_delete(state) }
        var output = [Float](repeating: 0, count: Int((Double(input.count) * ratio).rounded(.up)) + 64)
        var consumed = 0, produced = 0
        while consumed < input.count {
            var data = SRC_DATA()
            let status = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { destination in
                    data = SRC_DATA(data_in: source.baseAddress! + consumed, data_out: destination.baseAddress! + produced,
                                    input_frames: min(256, input.count - consumed), output_frames: destination.count - produced,
                                    input_frames_used: 0, output_frames_gen: 0, end_of_input: 0, src_ratio: ratio)
                    return src_process(state, &data)
                }
            }
            guard status == 0 else { throw ResamplerError(code: status) }
            consumed += data.input_frames_used
            produced += data.output_frames_gen
        }
        return Array(output[..<produced])
    }

    /// The phase φ of the sine `A sin(ω j + φ)` closest (least squares) to
    /// `samples`, whose first element is frame `start`.
    static func fittedPhase(_ samples: ArraySlice<Float>, from start: Int, radiansPerFrame omega: Double) -> Double {
        var ss = 0.0, sc = 0.0, cc = 0.0, ys = 0.0, yc = 0.0
        for (offset, sample) in samples.enumerated() {
            let angle = omega * Double(start + offset)
            let s = sin(angle), c = cos(angle), y = Double(sample)
            ss += s * s; sc += s * c; cc += c * c
            ys += y * s; yc += y * c
        }
        // Normal equations of y ≈ a sin + b cos; a = A cos φ, b = A sin φ.
        let determinant = ss * cc - sc * sc
        let a = (ys * cc - yc * sc) / determinant
        let b = (yc * ss - ys * sc) / determinant
        return atan2(b, a)
    }
}
