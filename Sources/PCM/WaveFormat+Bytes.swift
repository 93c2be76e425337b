import FoundationEssentials

extension WaveFormat {
    /// Reads a WAVEFORMATEX (18 bytes; the 16-byte PCMWAVEFORMAT of old WAV
    /// files is accepted too) or WAVEFORMATEXTENSIBLE (40 bytes) blob in
    /// Windows' little-endian layout.
    ///
    /// Only the layout is checked here (the blob is long enough for what its
    /// header announces); call ``validate()`` for the field rules. Bytes past
    /// `18 + cbSize` are ignored, as Windows ignores them. For PCM and float
    /// tags `cbSize` is ignored, as Windows does; any other tag is read as far
    /// as the header and rejected by ``validate()``.
    ///
    /// - Throws: ``FormatError`` with E_INVALIDARG naming the missing part.
    public init(bytes: some Collection<UInt8>) throws(FormatError) {
        let blob = Array(bytes)
        func u16(_ offset: Int) -> UInt16 { UInt16(blob[offset]) | UInt16(blob[offset + 1]) << 8 }
        func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }

        guard blob.count >= 16 else {
            throw FormatError(.E_INVALIDARG, field: "size",
                              "a wave format needs at least 16 bytes (PCMWAVEFORMAT), the blob has \(blob.count)")
        }
        let tag = FormatTag(rawValue: u16(0))
        let extra: UInt16 = blob.count >= WaveFormat.baseSize ? u16(16) : 0
        self.init(formatTag: tag, channels: u16(2), samplesPerSecond: u32(4),
                  averageBytesPerSecond: u32(8), blockAlign: u16(12), bitsPerSample: u16(14),
                  extraSize: extra)
        guard tag == .extensible else { return }

        guard blob.count >= WaveFormat.baseSize else {
            throw FormatError(.E_INVALIDARG, field: "cbSize",
                              "WAVE_FORMAT_EXTENSIBLE needs the 18-byte WAVEFORMATEX header, the blob has \(blob.count) bytes")
        }
        guard extra >= WaveFormat.extensibleExtraSize else {
            throw FormatError(.E_INVALIDARG, field: "cbSize",
                              "WAVE_FORMAT_EXTENSIBLE needs cbSize >= 22, the format says \(extra)")
        }
        guard blob.count >= WaveFormat.extensibleSize else {
            throw FormatError(.E_INVALIDARG, field: "cbSize",
                              "cbSize says \(extra) extension bytes, the blob holds only \(blob.count - WaveFormat.baseSize)")
        }
        validBitsPerSample = u16(18)
        channelMask = ChannelMask(rawValue: u32(20))
        subFormat = UUID(windowsBytes: Array(blob[24..<40]))
    }

    /// The format in Windows' byte layout: 18 bytes for WAVEFORMATEX, 40 for
    /// WAVEFORMATEXTENSIBLE (extension bytes beyond the 22 Windows defines are
    /// not carried, so `cbSize` is written as stored but the blob ends at 40).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(isExtensible ? WaveFormat.extensibleSize : WaveFormat.baseSize)
        out.appendLittleEndian(formatTag.rawValue)
        out.appendLittleEndian(channels)
        out.appendLittleEndian(samplesPerSecond)
        out.appendLittleEndian(averageBytesPerSecond)
        out.appendLittleEndian(blockAlign)
        out.appendLittleEndian(bitsPerSample)
        out.appendLittleEndian(isExtensible ? extraSize : 0)
        if isExtensible {
            out.appendLittleEndian(validBitsPerSample)
            out.appendLittleEndian(channelMask.rawValue)
            out.append(contentsOf: subFormat.windowsBytes)
        }
        return out
    }
}
