import JackTestSupport
import PCM
import Testing

/// Random and truncated blobs through the parser and validator: nothing may
/// crash, and every rejection must be a typed ``FormatError`` with a field name.
@Suite("Wave format parser under random input", .timeLimit(.minutes(15)))
struct WaveFormatFuzzTests {
    /// Outcome of feeding one blob through parse and validate.
    enum Outcome: Equatable { case accepted(SampleFormat), rejected(HRESULT) }

    static func feed(_ blob: [UInt8]) -> Outcome {
        do {
            let format = try WaveFormat(bytes: blob)
            let sampleFormat = try format.validate()
            // An accepted format must be fully consistent.
            precondition(Int(format.blockAlign) == Int(format.channels) * sampleFormat.bytesPerSample)
            return .accepted(sampleFormat)
        } catch {
            precondition(!error.field.isEmpty && !error.message.isEmpty)
            precondition(error.code == .E_INVALIDARG || error.code == .AUDCLNT_E_UNSUPPORTED_FORMAT)
            return .rejected(error.code)
        }
    }

    @Test("every prefix of valid blobs parses or is rejected with E_INVALIDARG")
    func truncations() {
        for blob in [WaveFormatTests.pcm16Stereo, WaveFormatTests.float51] {
            for length in 0...blob.count {
                let outcome = Self.feed(Array(blob.prefix(length)))
                if length < 16 || (blob == WaveFormatTests.float51 && length < 40) {
                    #expect(outcome == .rejected(.E_INVALIDARG), "length \(length)")
                }
            }
        }
    }

    @Test("200,000 random blobs, uniformly random and mutated from valid ones")
    func randomBlobs() {
        var random = SeededGenerator(seed: 0x5EED)
        var accepted = 0, invalid = 0, unsupported = 0
        for round in 0..<200_000 {
            var blob: [UInt8]
            if round % 2 == 0 {
                blob = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                blob = round % 4 == 1 ? WaveFormatTests.float51 : WaveFormatTests.pcm16Stereo
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    blob[Int.random(in: 0..<blob.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                blob = Array(blob.prefix(Int.random(in: blob.count - 4...blob.count, using: &random)))
            }
            switch Self.feed(blob) {
            case .accepted: accepted += 1
            case .rejected(.E_INVALIDARG): invalid += 1
            case .rejected: unsupported += 1
            }
        }
        // All three outcomes must occur, or the generator is not exercising the validator.
        #expect(accepted > 0 && invalid > 0 && unsupported > 0, "\(accepted) accepted, \(invalid) invalid, \(unsupported) unsupported")
    }
}
