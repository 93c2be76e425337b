/// The sample encodings the converter handles, as they sit in an interleaved
/// application buffer (little-endian, as on Windows).
public enum SampleFormat: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 8-bit unsigned, silence at 128.
    case uint8
    /// 16-bit signed.
    case int16
    /// 24-bit signed packed in 3 bytes.
    case int24Packed
    /// 24 valid bits, left-justified in a 32-bit signed container (low byte zero).
    case int24In32
    /// 32-bit signed.
    case int32
    /// 32-bit IEEE float, full scale ±1.0.
    case float32

    /// Bytes one sample occupies in the buffer (the container size).
    public var bytesPerSample: Int {
        switch self {
        case .uint8: 1
        case .int16: 2
        case .int24Packed: 3
        case .int24In32, .int32, .float32: 4
        }
    }

    /// Bits that carry the signal (wValidBitsPerSample).
    public var validBits: Int {
        switch self {
        case .uint8: 8
        case .int16: 16
        case .int24Packed, .int24In32: 24
        case .int32, .float32: 32
        }
    }

    /// Whether the samples are IEEE floats rather than integers.
    public var isFloat: Bool { self == .float32 }

    public var description: String {
        switch self {
        case .uint8: "8-bit unsigned PCM"
        case .int16: "16-bit PCM"
        case .int24Packed: "24-bit packed PCM"
        case .int24In32: "24-bit PCM in 32-bit containers"
        case .int32: "32-bit PCM"
        case .float32: "32-bit float"
        }
    }
}
