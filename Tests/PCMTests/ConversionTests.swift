import JackTestSupport
import PCM
import Testing

/// Encodes `values` (given as integers in the format's own range) as the
/// format's bytes, the slow and obvious way: the reference the kernels are
/// checked against.
private func referenceBytes(_ values: [Int64], _ format: SampleFormat) -> [UInt8] {
    values.flatMap { value -> [UInt8] in
        switch format {
        case .uint8: [UInt8(value + 128)]
        case .int16: (0..<2).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .int24Packed: (0..<3).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .int24In32: [0] + (0..<3).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .int32: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .float32: preconditionFailure("integer formats only")
        }
    }
}

private func decode(_ bytes: [UInt8], _ format: SampleFormat) -> [Float] {
    let count = bytes.count / format.bytesPerSample
    var floats = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { source in
        floats.withUnsafeMutableBufferPointer { SampleConversion.decode(format, from: source.baseAddress!, into: $0.baseAddress!, samples: count) }
    }
    return floats
}

private func encode(_ floats: [Float], _ format: SampleFormat) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xAA, count: floats.count * format.bytesPerSample)
    floats.withUnsafeBufferPointer { source in
        bytes.withUnsafeMutableBytes { SampleConversion.encode(format, from: source.baseAddress!, into: $0.baseAddress!, samples: floats.count) }
    }
    return bytes
}

private func encode(_ floats: [Float], _ format: SampleFormat, dither: inout TPDFDither) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xAA, count: floats.count * format.bytesPerSample)
    floats.withUnsafeBufferPointer { source in
        bytes.withUnsafeMutableBytes {
            SampleConversion.encode(format, from: source.baseAddress!, into: $0.baseAddress!, samples: floats.count, dither: &dither)
        }
    }
    return bytes
}

/// The integer range of a format, as codes centred on zero.
private func range(_ format: SampleFormat) -> ClosedRange<Int64> {
    let half = Int64(1) << (format.validBits - 1)
    return -half...(half - 1)
}

/// Edge codes plus `count` random ones from a fixed seed.
private func testCodes(_ format: SampleFormat, count: Int) -> [Int64] {
    let codes = range(format)
    let edges: [Int64] = [codes.lowerBound, codes.lowerBound + 1, -2, -1, 0, 1, 2, codes.upperBound - 1, codes.upperBound]
    var generator = SeededGenerator(seed: 0x5EED_0000 + UInt64(format.validBits))
    return edges + (0..<count).map { _ in Int64.random(in: codes, using: &generator) }
}

struct ConversionTests {
    @Test("8- and 16-bit: every code decodes to x / 2^(n-1) and encodes back bit-exactly",
          arguments: [SampleFormat.uint8, .int16])
    func exhaustiveRoundTrip(format: SampleFormat) {
        let codes = Array(range(format))
        let bytes = referenceBytes(codes, format)
        let floats = decode(bytes, format)
        let scale = Float(Int64(1) << (format.validBits - 1))
        #expect(floats == codes.map { Float($0) / scale })
        #expect(encode(floats, format) == bytes)
    }

    @Test("24-bit, packed and in 32-bit containers: edge and random codes round-trip bit-exactly",
          arguments: [SampleFormat.int24Packed, .int24In32])
    func twentyFourBitRoundTrip(format: SampleFormat) {
        let codes = testCodes(format, count: 100_000)
        let bytes = referenceBytes(codes, format)
        let floats = decode(bytes, format)
        #expect(floats == codes.map { Float($0) / 8_388_608 })
        #expect(encode(floats, format) == bytes)
    }

    @Test("24 bits in 32: the container's low byte is not part of the sample")
    func containerLowByteIgnored() {
        let bytes: [UInt8] = [0xFF, 0x00, 0x00, 0x40, 0x7F, 0xFF, 0xFF, 0xFF]
        #expect(decode(bytes, .int24In32) == [0.5, -1 / 8_388_608])
    }

    @Test("32-bit: error within float's 24-bit precision (exact below 2^24)")
    func thirtyTwoBitRoundTrip() {
        let codes = testCodes(.int32, count: 100_000) + (-40...40).map { Int64($0) << 20 }
        let bytes = referenceBytes(codes, .int32)
        let back = encode(decode(bytes, .int32), .int32)
        let restored: [Int64] = back.withUnsafeBytes { raw in
            (0..<codes.count).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        }
        for (code, result) in zip(codes, restored) {
            // Rounding to 24 significant bits moves a value by at most half an
            // ulp: |x| * 2^-24.
            let bound = max(0, abs(code) >> 24)
            if abs(result - code) > bound {
                Issue.record("int32 \(code) came back as \(result), error above \(bound)")
            }
        }
        #expect(zip(codes, restored).allSatisfy { abs($0) >= 1 << 24 || $0 == $1 })
    }

    @Test("float32 passes through bit-exactly")
    func floatPassThrough() {
        var generator = SeededGenerator(seed: 7)
        let values = (0..<10_000).map { _ in Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator)) * (Bool.random(using: &generator) ? 1 : -1) }
        let bytes = encode(values, .float32)
        #expect(decode(bytes, .float32).map(\.bitPattern) == values.map(\.bitPattern))
        #expect(Array(bytes[0..<4]) == (0..<4).map { UInt8(truncatingIfNeeded: values[0].bitPattern >> (8 * $0)) })
    }

    @Test("Byte order is little-endian for every integer format")
    func littleEndian() {
        #expect(encode([Float(0x1234) / 32768], .int16) == [0x34, 0x12])
        #expect(encode([Float(0x123456) / 8_388_608], .int24Packed) == [0x56, 0x34, 0x12])
        #expect(encode([Float(-2) / 8_388_608], .int24Packed) == [0xFE, 0xFF, 0xFF])
        #expect(encode([Float(0x123456) / 8_388_608], .int24In32) == [0x00, 0x56, 0x34, 0x12])
        #expect(encode([Float(0x1234_5600) / 2_147_483_648], .int32) == [0x00, 0x56, 0x34, 0x12])
        #expect(encode([-1], .uint8) == [0x00])
    }

    @Test("Full scale and beyond clip to the integer range instead of wrapping; NaN is silence",
          arguments: [SampleFormat.uint8, .int16, .int24Packed, .int24In32, .int32])
    func clipping(format: SampleFormat) {
        let codes = range(format)
        let inputs: [Float] = [1, 1.5, 1e30, .infinity, -1, -1.5, -1e30, -.infinity, .nan, 0]
        let expected: [Int64] = [codes.upperBound, codes.upperBound, codes.upperBound, codes.upperBound,
                                 codes.lowerBound, codes.lowerBound, codes.lowerBound, codes.lowerBound, 0, 0]
        #expect(encode(inputs, format) == referenceBytes(expected, format))
    }

    @Test("Rounding is to nearest, ties to even")
    func rounding() {
        let lsb: Float = 1 / 32768
        let inputs: [Float] = [0.4, 0.6, 1.5, 2.5, -0.4, -0.6, -1.5, -2.5, 32766.5, -32767.5].map { $0 * lsb }
        #expect(encode(inputs, .int16) == referenceBytes([0, 1, 2, 2, 0, -1, -2, -2, 32766, -32768], .int16))
        #expect(encode([0.4 / 128, 0.6 / 128, -0.6 / 128], .uint8) == [128, 129, 127])
    }

    @Test("Unaligned buffers decode and encode like aligned ones", arguments: SampleFormat.allCases)
    func unaligned(format: SampleFormat) {
        let values: [Float] = [0.25, -0.5, 0.125, -0.0625]
        let aligned = encode(values, format)
        var shifted = [UInt8](repeating: 0, count: aligned.count + 1)
        var decoded = [Float](repeating: .nan, count: values.count)
        values.withUnsafeBufferPointer { source in
            shifted.withUnsafeMutableBytes { SampleConversion.encode(format, from: source.baseAddress!, into: $0.baseAddress! + 1, samples: values.count) }
        }
        shifted.withUnsafeBytes { source in
            decoded.withUnsafeMutableBufferPointer { SampleConversion.decode(format, from: source.baseAddress! + 1, into: $0.baseAddress!, samples: values.count) }
        }
        #expect(Array(shifted.dropFirst()) == aligned)
        #expect(decoded == values)
    }
}

struct DitherTests {
    /// int16 codes of `count` copies of `lsb` (a level in LSB), dithered.
    private func ditheredCodes(level lsb: Float, count: Int, seed: UInt32) -> [Double] {
        var dither = TPDFDither(seed: seed)
        let bytes = encode([Float](repeating: lsb / 32768, count: count), .int16, dither: &dither)
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        }
    }

    @Test("The dither source is triangular on (-1, 1) LSB: mean 0, variance 1/6")
    func distribution() {
        var dither = TPDFDither(seed: 12345)
        let values = (0..<400_000).map { _ in Double(dither.next()) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        let nearZero = values.filter { abs($0) < 0.25 }.count
        let nearEdge = values.filter { abs($0) > 0.75 }.count
        #expect(values.allSatisfy { $0 > -1 && $0 < 1 })
        #expect(abs(mean) < 0.005)
        #expect(abs(variance - 1.0 / 6) < 0.005)
        // Triangular: |x| < 1/4 holds 7/16 of the mass, |x| > 3/4 only 1/16.
        #expect(abs(Double(nearZero) / Double(values.count) - 7.0 / 16) < 0.01)
        #expect(abs(Double(nearEdge) / Double(values.count) - 1.0 / 16) < 0.005)
    }

    @Test("Dithered 16-bit output has the input's mean, errors within ±1.5 LSB and variance 1/4 LSB²",
          arguments: [Float(0), 0.3, 0.5, -0.75, 100.2])
    func statistics(level: Float) {
        let codes = ditheredCodes(level: level, count: 200_000, seed: 99)
        let errors = codes.map { $0 - Double(level) }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let power = errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)
        #expect(abs(mean) < 0.01, "mean error \(mean) LSB at level \(level)")
        #expect(errors.allSatisfy { abs($0) <= 1.5 }, "an error beyond 1.5 LSB at level \(level)")
        // TPDF dither makes the error power independent of the signal: 1/6 + 1/12.
        #expect(abs(power - 0.25) < 0.01, "error power \(power) LSB² at level \(level)")
    }

    @Test("Without dither a sub-LSB level is lost; with it the level survives on average")
    func subLSBLevel() {
        let plain = decode(encode([Float](repeating: 0.3 / 32768, count: 1000), .int16), .int16)
        #expect(plain.allSatisfy { $0 == 0 })
        let codes = ditheredCodes(level: 0.3, count: 100_000, seed: 5)
        #expect(abs(codes.reduce(0, +) / Double(codes.count) - 0.3) < 0.01)
    }

    @Test("Dither still clips at full scale, and leaves 24/32-bit output undithered")
    func clipsAndWideFormats() {
        var dither = TPDFDither()
        let full = encode([Float](repeating: 1, count: 1000), .int16, dither: &dither)
        #expect(full == referenceBytes([Int64](repeating: 32767, count: 1000), .int16))
        let bottom = encode([Float](repeating: -1, count: 1000), .uint8, dither: &dither)
        #expect(bottom.allSatisfy { $0 <= 1 })
        let signal: [Float] = (0..<1000).map { Float($0) / 1000 - 0.5 }
        for format in [SampleFormat.int24Packed, .int24In32, .int32, .float32] {
            let before = dither
            #expect(encode(signal, format, dither: &dither) == encode(signal, format))
            #expect(dither == before)
        }
    }
}
