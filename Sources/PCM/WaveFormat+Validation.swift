import FoundationEssentials

extension WaveFormat {
    /// Checks the format the way WASAPI does before it looks at support.
    ///
    /// Structural faults (the fields contradict each other) give E_INVALIDARG;
    /// a consistent format that the converter cannot handle (unknown tag or
    /// sub-format, a container size it has no kernel for) gives
    /// AUDCLNT_E_UNSUPPORTED_FORMAT. The first fault found is reported, fields
    /// in header order.
    ///
    /// - Returns: the sample encoding of a format that passes.
    @discardableResult
    public func validate() throws(FormatError) -> SampleFormat {
        guard channels > 0 else {
            throw FormatError(.E_INVALIDARG, field: "nChannels", "a format needs at least one channel")
        }
        guard samplesPerSecond > 0 else {
            throw FormatError(.E_INVALIDARG, field: "nSamplesPerSec", "the sample rate must be positive")
        }
        guard bitsPerSample > 0, bitsPerSample % 8 == 0 else {
            throw FormatError(.E_INVALIDARG, field: "wBitsPerSample",
                              "\(bitsPerSample) bits is not a whole number of bytes per sample")
        }
        let expectedBlock = Int(channels) * Int(bitsPerSample) / 8
        guard Int(blockAlign) == expectedBlock else {
            throw FormatError(.E_INVALIDARG, field: "nBlockAlign",
                              "\(blockAlign) does not match \(channels) channels x \(bitsPerSample / 8) bytes = \(expectedBlock)")
        }
        let expectedAverage = UInt64(samplesPerSecond) * UInt64(blockAlign)
        guard UInt64(averageBytesPerSecond) == expectedAverage else {
            throw FormatError(.E_INVALIDARG, field: "nAvgBytesPerSec",
                              "\(averageBytesPerSecond) does not match \(samplesPerSecond) Hz x \(blockAlign) bytes = \(expectedAverage)")
        }
        if isExtensible { try validateExtension() }
        guard formatTag == .pcm || formatTag == .ieeeFloat || formatTag == .extensible else {
            throw FormatError(.AUDCLNT_E_UNSUPPORTED_FORMAT, field: "wFormatTag",
                              "\(formatTag) is not PCM, IEEE float or EXTENSIBLE")
        }
        guard let sampleFormat else {
            throw FormatError(.AUDCLNT_E_UNSUPPORTED_FORMAT, field: "wBitsPerSample",
                              "no converter for \(isFloatLayout ? "float" : "integer") samples of \(bitsPerSample) bits")
        }
        return sampleFormat
    }

    private var isFloatLayout: Bool {
        formatTag == .ieeeFloat || (isExtensible && subFormat == .ieeeFloatSubFormat)
    }

    private func validateExtension() throws(FormatError) {
        guard extraSize >= WaveFormat.extensibleExtraSize else {
            throw FormatError(.E_INVALIDARG, field: "cbSize",
                              "WAVE_FORMAT_EXTENSIBLE needs cbSize >= 22, the format says \(extraSize)")
        }
        guard validBitsPerSample > 0, validBitsPerSample <= bitsPerSample else {
            throw FormatError(.E_INVALIDARG, field: "wValidBitsPerSample",
                              "\(validBitsPerSample) valid bits do not fit a \(bitsPerSample)-bit container")
        }
        guard channelMask.intersection(.reserved).isEmpty else {
            throw FormatError(.E_INVALIDARG, field: "dwChannelMask",
                              "0x\(String(channelMask.rawValue, radix: 16)) uses reserved speaker bits")
        }
        let maskCount = channelMask.subtracting(.all).channelCount
        guard channelMask.isEmpty || channelMask == .all || maskCount == Int(channels) else {
            throw FormatError(.E_INVALIDARG, field: "dwChannelMask",
                              "\(channelMask) names \(maskCount) speakers for \(channels) channels")
        }
        guard subFormat == .pcmSubFormat || subFormat == .ieeeFloatSubFormat else {
            throw FormatError(.AUDCLNT_E_UNSUPPORTED_FORMAT, field: "SubFormat",
                              "sub-format \(subFormat) is neither KSDATAFORMAT_SUBTYPE_PCM nor KSDATAFORMAT_SUBTYPE_IEEE_FLOAT")
        }
    }
}
