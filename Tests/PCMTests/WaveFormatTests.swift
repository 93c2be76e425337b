import Foundation
import PCM
import Testing

@Suite("WAVEFORMATEX / WAVEFORMATEXTENSIBLE model", .timeLimit(.minutes(15)))
struct WaveFormatTests {
    /// A 44.1 kHz 16-bit stereo WAVEFORMATEX, byte for byte as Windows lays it out.
    static let pcm16Stereo: [UInt8] = [
        0x01, 0x00, 0x02, 0x00, 0x44, 0xAC, 0x00, 0x00, 0x10, 0xB1, 0x02, 0x00,
        0x04, 0x00, 0x10, 0x00, 0x00, 0x00,
    ]

    /// A 48 kHz float 5.1 WAVEFORMATEXTENSIBLE (mask 0x3F), byte for byte.
    static let float51: [UInt8] = [
        0xFE, 0xFF, 0x06, 0x00, 0x80, 0xBB, 0x00, 0x00, 0x00, 0x94, 0x11, 0x00,
        0x18, 0x00, 0x20, 0x00, 0x16, 0x00, 0x20, 0x00, 0x3F, 0x00, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
    ]

    @Test("a WAVEFORMATEX blob reads field by field and writes back identically")
    func readsWaveFormatEx() throws {
        let format = try WaveFormat(bytes: Self.pcm16Stereo)
        #expect(format.formatTag == .pcm)
        #expect(format.channels == 2)
        #expect(format.samplesPerSecond == 44_100)
        #expect(format.averageBytesPerSecond == 176_400)
        #expect(format.blockAlign == 4)
        #expect(format.bitsPerSample == 16)
        #expect(format.extraSize == 0)
        #expect(try format.validate() == .int16)
        #expect(format.serialized() == Self.pcm16Stereo)
        #expect(format == WaveFormat(.int16, sampleRate: 44_100, channels: 2, extensible: false))
    }

    @Test("a WAVEFORMATEXTENSIBLE blob reads field by field and writes back identically")
    func readsExtensible() throws {
        let format = try WaveFormat(bytes: Self.float51)
        #expect(format.isExtensible)
        #expect(format.extraSize == 22)
        #expect(format.validBitsPerSample == 32)
        #expect(format.channelMask == .fivePointOne)
        #expect(format.subFormat == .ieeeFloatSubFormat)
        #expect(format.subFormat.uuidString == "00000003-0000-0010-8000-00AA00389B71")
        // Windows keeps Data1..Data3 little-endian in memory and in the blob.
        #expect(format.subFormat.windowsBytes == [0x03, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71])
        #expect(UUID(windowsBytes: format.subFormat.windowsBytes) == format.subFormat)
        #expect(try format.validate() == .float32)
        #expect(format.serialized() == Self.float51)
        #expect(format == .extensibleFloat32(sampleRate: 48_000, channels: 6, channelMask: .fivePointOne))
    }

    @Test("every sample format builds a format that validates, round-trips and maps back", arguments: SampleFormat.allCases)
    func constructedFormatsRoundTrip(_ sampleFormat: SampleFormat) throws {
        for extensible in [false, true] {
            let format = WaveFormat(sampleFormat, sampleRate: 96_000, channels: 8, extensible: extensible)
            #expect(try format.validate() == sampleFormat)
            let bytes = format.serialized()
            #expect(bytes.count == (format.isExtensible ? 40 : 18))
            #expect(try WaveFormat(bytes: bytes) == format)
        }
    }

    @Test("24 valid bits in a 32-bit container need EXTENSIBLE and say so")
    func twentyFourInThirtyTwo() throws {
        let format = WaveFormat(.int24In32, sampleRate: 48_000, channels: 2, extensible: false)
        #expect(format.isExtensible)
        #expect(format.bitsPerSample == 32 && format.validBitsPerSample == 24)
        var plain = format
        plain.formatTag = .pcm
        plain.extraSize = 0
        #expect(plain.sampleFormat == .int32, "WAVEFORMATEX has no valid-bits field: 32-bit PCM")
    }

    @Test("the old 16-byte PCMWAVEFORMAT is accepted; bytes past cbSize are ignored")
    func lengthRules() throws {
        let short = try WaveFormat(bytes: Self.pcm16Stereo.prefix(16))
        #expect(try short.validate() == .int16)
        let padded = try WaveFormat(bytes: Self.float51 + [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(padded == (try WaveFormat(bytes: Self.float51)))
    }

    struct Fault: CustomTestStringConvertible, Sendable {
        let name: String
        let field: String
        let code: HRESULT
        let edit: @Sendable (inout WaveFormat) -> Void
        var testDescription: String { name }
    }

    static let faults: [Fault] = [
        Fault(name: "zero channels", field: "nChannels", code: .E_INVALIDARG) { $0.channels = 0 },
        Fault(name: "zero rate", field: "nSamplesPerSec", code: .E_INVALIDARG) { $0.samplesPerSecond = 0 },
        Fault(name: "12-bit container", field: "wBitsPerSample", code: .E_INVALIDARG) { $0.bitsPerSample = 12 },
        Fault(name: "block align off by one", field: "nBlockAlign", code: .E_INVALIDARG) { $0.blockAlign += 1 },
        Fault(name: "average bytes wrong", field: "nAvgBytesPerSec", code: .E_INVALIDARG) { $0.averageBytesPerSecond -= 1 },
        Fault(name: "cbSize too small", field: "cbSize", code: .E_INVALIDARG) { $0.extraSize = 21 },
        Fault(name: "valid bits above container", field: "wValidBitsPerSample", code: .E_INVALIDARG) { $0.validBitsPerSample = 17 },
        Fault(name: "zero valid bits", field: "wValidBitsPerSample", code: .E_INVALIDARG) { $0.validBitsPerSample = 0 },
        Fault(name: "mask with three speakers for two channels", field: "dwChannelMask", code: .E_INVALIDARG) {
            $0.channelMask = [.frontLeft, .frontRight, .frontCenter]
        },
        Fault(name: "reserved speaker bit", field: "dwChannelMask", code: .E_INVALIDARG) {
            $0.channelMask = ChannelMask(rawValue: 0x4_0001)
        },
        Fault(name: "unknown sub-format", field: "SubFormat", code: .AUDCLNT_E_UNSUPPORTED_FORMAT) {
            $0.subFormat = UUID(uuidString: "00000092-0000-0010-8000-00AA00389B71")!
        },
        Fault(name: "unknown tag (A-law)", field: "wFormatTag", code: .AUDCLNT_E_UNSUPPORTED_FORMAT) {
            $0 = WaveFormat(formatTag: .init(rawValue: 6), channels: 2, samplesPerSecond: 8000,
                            averageBytesPerSecond: 16000, blockAlign: 2, bitsPerSample: 8)
        },
        Fault(name: "64-bit float", field: "wBitsPerSample", code: .AUDCLNT_E_UNSUPPORTED_FORMAT) {
            $0 = WaveFormat(formatTag: .ieeeFloat, channels: 2, samplesPerSecond: 48000,
                            averageBytesPerSecond: 768_000, blockAlign: 16, bitsPerSample: 64)
        },
    ]

    @Test("each structural fault is rejected with Windows' HRESULT and the field's name", arguments: faults)
    func faultsAreNamed(_ fault: Fault) throws {
        var format = WaveFormat(.int16, sampleRate: 48_000, channels: 2)
        fault.edit(&format)
        #expect(throws: FormatError.self) { try format.validate() }
        do {
            try format.validate()
        } catch {
            #expect(error.field == fault.field, "\(error)")
            #expect(error.code == fault.code, "\(error)")
        }
    }

    @Test("a zero mask and SPEAKER_ALL are accepted; the effective mask falls back to the default")
    func maskConventions() throws {
        var format = WaveFormat(.float32, sampleRate: 48_000, channels: 6)
        format.channelMask = []
        #expect(try format.validate() == .float32)
        #expect(format.effectiveChannelMask == .fivePointOne)
        format.channelMask = .all
        #expect(try format.validate() == .float32)
        #expect(ChannelMask.defaultMask(forChannels: 1) == .frontCenter)
        #expect(ChannelMask.defaultMask(forChannels: 8) == .sevenPointOneSurround)
        #expect(ChannelMask.defaultMask(forChannels: 8).channelCount == 8)
    }
}
