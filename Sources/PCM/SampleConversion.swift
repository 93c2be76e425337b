/// Conversion between interleaved application samples and 32-bit float.
///
/// ## Scaling
/// An integer format with `n` valid bits maps to float as `x / 2^(n-1)`, so
/// the most negative code is exactly -1.0 and the most positive is
/// `1 - 2^-(n-1)`; 8-bit unsigned maps as `(x - 128) / 128`. Every code of the
/// 8-, 16- and 24-bit formats is exactly representable as a float, so
/// int -> float -> int is bit-exact for them. 32-bit integers keep the top 24
/// significant bits (float's mantissa): the round trip error is at most half a
/// float ulp of the value, at most 64 codes at full scale.
///
/// The other way, a float is scaled by `2^(n-1)`, clipped to the integer
/// range (so +1.0 and anything above gives the largest positive code rather
/// than wrapping to the most negative one), and rounded to the nearest
/// integer, ties to even. NaN encodes as silence. Optional ``TPDFDither`` is
/// added before rounding for the 8- and 16-bit formats; the 24- and 32-bit
/// formats are at or beyond float's own precision and are never dithered.
///
/// Buffers are little-endian (as on Windows) and may be unaligned.
///
/// ## Thread safety
/// Every function is `@_noLocks`: no allocation, lock, reference counting or
/// dynamic dispatch, so they run in the JACK process callback. They touch only
/// the buffers passed in; source and destination must not overlap.
public enum SampleConversion {
    /// Reads `samples` samples of `format` from `source` and writes them as
    /// float to `destination`.
    ///
    /// `samples` counts samples, not frames: pass `frames * channels` for
    /// interleaved audio. `source` holds `samples * format.bytesPerSample`
    /// bytes.
    @_noLocks
    public static func decode(_ format: SampleFormat, from source: UnsafeRawPointer,
                              into destination: UnsafeMutablePointer<Float>, samples: Int) {
        switch format {
        case .uint8: decodeUInt8(source, destination, samples)
        case .int16: decodeInt16(source, destination, samples)
        case .int24Packed: decodeInt24Packed(source, destination, samples)
        case .int24In32: decodeInt24In32(source, destination, samples)
        case .int32: decodeInt32(source, destination, samples)
        case .float32: decodeFloat32(source, destination, samples)
        }
    }

    /// Writes `samples` floats from `source` to `destination` in `format`,
    /// clipping to the format's range, without dither.
    @_noLocks
    public static func encode(_ format: SampleFormat, from source: UnsafePointer<Float>,
                              into destination: UnsafeMutableRawPointer, samples: Int) {
        switch format {
        case .uint8: encodeUInt8(source, destination, samples)
        case .int16: encodeInt16(source, destination, samples)
        case .int24Packed: encodeInt24Packed(source, destination, samples)
        case .int24In32: encodeInt24In32(source, destination, samples)
        case .int32: encodeInt32(source, destination, samples)
        case .float32: encodeFloat32(source, destination, samples)
        }
    }

    /// As ``encode(_:from:into:samples:)``, adding TPDF dither from `dither`
    /// before rounding when `format` is `.uint8` or `.int16`. Other formats are
    /// encoded without dither and leave `dither` untouched.
    @_noLocks
    public static func encode(_ format: SampleFormat, from source: UnsafePointer<Float>,
                              into destination: UnsafeMutableRawPointer, samples: Int,
                              dither: inout TPDFDither) {
        switch format {
        case .uint8: encodeUInt8(source, destination, samples, dither: &dither)
        case .int16: encodeInt16(source, destination, samples, dither: &dither)
        default: encode(format, from: source, into: destination, samples: samples)
        }
    }
}

// MARK: Decoding

extension SampleConversion {
    @_noLocks @inline(__always)
    static func decodeUInt8(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let code = source.load(fromByteOffset: index, as: UInt8.self)
            destination[index] = (Float(code) - 128) * (1 / 128)
        }
    }

    @_noLocks @inline(__always)
    static func decodeInt16(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let code = Int16(littleEndian: source.loadUnaligned(fromByteOffset: index &* 2, as: Int16.self))
            destination[index] = Float(code) * (1 / 32768)
        }
    }

    @_noLocks @inline(__always)
    static func decodeInt24Packed(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let offset = index &* 3
            let low = Int32(source.load(fromByteOffset: offset, as: UInt8.self))
            let middle = Int32(source.load(fromByteOffset: offset &+ 1, as: UInt8.self))
            let high = Int32(source.load(fromByteOffset: offset &+ 2, as: Int8.self))
            destination[index] = Float(low | middle << 8 | high << 16) * (1 / 8_388_608)
        }
    }

    /// The low byte of the container is not part of the sample and is ignored.
    @_noLocks @inline(__always)
    static func decodeInt24In32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let container = Int32(littleEndian: source.loadUnaligned(fromByteOffset: index &* 4, as: Int32.self))
            destination[index] = Float(container >> 8) * (1 / 8_388_608)
        }
    }

    @_noLocks @inline(__always)
    static func decodeInt32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let code = Int32(littleEndian: source.loadUnaligned(fromByteOffset: index &* 4, as: Int32.self))
            destination[index] = Float(code) * (1 / 2_147_483_648)
        }
    }

    @_noLocks @inline(__always)
    static func decodeFloat32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self))
            destination[index] = Float(bitPattern: bits)
        }
    }
}

// MARK: Encoding

extension SampleConversion {
    @_noLocks @inline(__always)
    static func encodeUInt8(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            let code = quantize(source[index] * 128, bits: 8)
            destination.storeBytes(of: UInt8(truncatingIfNeeded: code &+ 128), toByteOffset: index, as: UInt8.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeUInt8(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int,
                            dither: inout TPDFDither) {
        for index in 0..<count {
            let code = quantize(source[index] * 128 + dither.next(), bits: 8)
            destination.storeBytes(of: UInt8(truncatingIfNeeded: code &+ 128), toByteOffset: index, as: UInt8.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeInt16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            let code = Int16(truncatingIfNeeded: quantize(source[index] * 32768, bits: 16))
            destination.storeBytes(of: code.littleEndian, toByteOffset: index &* 2, as: Int16.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeInt16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int,
                            dither: inout TPDFDither) {
        for index in 0..<count {
            let code = Int16(truncatingIfNeeded: quantize(source[index] * 32768 + dither.next(), bits: 16))
            destination.storeBytes(of: code.littleEndian, toByteOffset: index &* 2, as: Int16.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeInt24Packed(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            let code = quantize24(source[index])
            let offset = index &* 3
            destination.storeBytes(of: UInt8(truncatingIfNeeded: code), toByteOffset: offset, as: UInt8.self)
            destination.storeBytes(of: UInt8(truncatingIfNeeded: code >> 8), toByteOffset: offset &+ 1, as: UInt8.self)
            destination.storeBytes(of: UInt8(truncatingIfNeeded: code >> 16), toByteOffset: offset &+ 2, as: UInt8.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeInt24In32(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            let container = quantize24(source[index]) << 8
            destination.storeBytes(of: container.littleEndian, toByteOffset: index &* 4, as: Int32.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeInt32(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            var scaled = Double(source[index]) * 2_147_483_648
            scaled = scaled.isNaN ? 0 : scaled
            scaled = scaled > -2_147_483_648 ? scaled : -2_147_483_648
            scaled = scaled < 2_147_483_647 ? scaled : 2_147_483_647
            let code = Int32(truncatingIfNeeded: roundToNearest(scaled))
            destination.storeBytes(of: code.littleEndian, toByteOffset: index &* 4, as: Int32.self)
        }
    }

    @_noLocks @inline(__always)
    static func encodeFloat32(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for index in 0..<count {
            destination.storeBytes(of: source[index].bitPattern.littleEndian, toByteOffset: index &* 4, as: UInt32.self)
        }
    }
}

// MARK: Rounding

extension SampleConversion {
    /// Clips `scaled` (a sample already multiplied by `2^(bits-1)`) to the
    /// signed range of `bits` bits and rounds it to the nearest integer.
    /// Valid for `bits <= 16`; NaN gives 0.
    @_noLocks @inline(__always)
    static func quantize(_ scaled: Float, bits: Int32) -> Int32 {
        let highest = Float(Int32(1) << (bits &- 1))
        var value = scaled.isNaN ? 0 : scaled
        value = value > -highest ? value : -highest
        value = value < highest - 1 ? value : highest - 1
        return roundToNearest(value)
    }

    /// A float sample as a 24-bit code (in the low 24 bits of the result).
    @_noLocks @inline(__always)
    static func quantize24(_ sample: Float) -> Int32 {
        var scaled = Double(sample) * 8_388_608
        scaled = scaled.isNaN ? 0 : scaled
        scaled = scaled > -8_388_608 ? scaled : -8_388_608
        scaled = scaled < 8_388_607 ? scaled : 8_388_607
        return Int32(truncatingIfNeeded: roundToNearest(scaled))
    }

    /// Rounds `value` to the nearest integer, ties to even, for |value| < 2^22.
    ///
    /// Adding 1.5 * 2^23 moves the value into the binade where a float's unit
    /// in the last place is 1, so the addition itself rounds (in the default
    /// IEEE mode); the integer then sits in the low mantissa bits. Branch-free
    /// and without a libm call, so loops over it vectorise.
    @_noLocks @inline(__always)
    static func roundToNearest(_ value: Float) -> Int32 {
        Int32(bitPattern: (value + 12_582_912).bitPattern) &- 0x4B40_0000
    }

    /// The same for doubles with |value| < 2^51 (offset 1.5 * 2^52).
    @_noLocks @inline(__always)
    static func roundToNearest(_ value: Double) -> Int64 {
        Int64(bitPattern: (value + 6_755_399_441_055_744).bitPattern) &- 0x4338_0000_0000_0000
    }
}
