/// Triangular (TPDF) dither of ±1 LSB for float -> integer conversion.
///
/// Each sample gets the difference of two independent uniform values in
/// [0, 1), which has a triangular distribution over (-1, 1) LSB with mean 0
/// and variance 1/6 LSB². Added before rounding, it makes the quantisation
/// error independent of the signal: the mean of the integer output equals the
/// input (no dead band, no harmonic distortion from truncation) at the cost of
/// a constant noise floor (total error variance 1/4 LSB² instead of 1/12).
///
/// The random source is xorshift32 (Marsaglia, 2003): a 32-bit state, three
/// shifts and xors per sample. Its two 16-bit halves give the two uniforms.
/// That is far from cryptographic and needs none of it: it only has to be
/// flat and uncorrelated at the scale of one LSB.
///
/// ## Thread safety
/// A plain value; ``next()`` is `@_noLocks` (no allocation, lock or system
/// call) and may run in the JACK process callback. Keep one per stream, owned
/// by the thread that converts.
public struct TPDFDither: Sendable, Equatable {
    private var state: UInt32

    /// Creates a generator. `seed` zero is replaced by a fixed non-zero value
    /// (xorshift would stay at zero forever).
    public init(seed: UInt32 = 0x9E37_79B9) {
        state = seed == 0 ? 0x9E37_79B9 : seed
    }

    /// The next dither value, in LSB, in (-1, 1) with a triangular density.
    @_noLocks @inline(__always)
    public mutating func next() -> Float {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        let first = Float(state & 0xFFFF)
        let second = Float(state >> 16)
        return (first - second) * (1 / 65536)
    }
}
