import CSndFile
import Foundation
import PCM

/// Why a sound file could not be read or written: one sentence that names the
/// file and the problem.
///
/// The cases that describe a WAV file's structure come from
/// ``WAVDiagnosis``, which words why libsndfile refused a `.wav` file.
enum WAVError: Error, CustomStringConvertible {
    /// The file could not be opened or read (the system's or libsndfile's reason).
    case unreadable(path: String, reason: String)
    /// The file is not a RIFF/WAVE file at all.
    case notWAV(path: String, reason: String)
    /// The file ends inside a structure it announced.
    case truncated(path: String, reason: String)
    /// A required chunk is missing.
    case missingChunk(path: String, chunk: String)
    /// The `fmt ` chunk is malformed or inconsistent.
    case badFormat(path: String, reason: String)
    /// The format is well formed but not one libsndfile decodes.
    case unsupportedFormat(path: String, reason: String)
    /// The file could not be created or written.
    case writeFailed(path: String, reason: String)

    var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read '\(path)': \(reason)"
        case let .notWAV(path, reason): "'\(path)' is not a WAV file: \(reason)"
        case let .truncated(path, reason): "'\(path)' is truncated: \(reason)"
        case let .missingChunk(path, chunk): "'\(path)' is malformed: it has no '\(chunk)' chunk"
        case let .badFormat(path, reason): "'\(path)' has a malformed format chunk: \(reason)"
        case let .unsupportedFormat(path, reason):
            "'\(path)' has an unsupported format: \(reason) (convert it to PCM or float WAV, for example with ffmpeg or sox)"
        case let .writeFailed(path, reason): "cannot write '\(path)': \(reason)"
        }
    }
}

/// The decoded audio of a sound file: a wave format and its interleaved
/// sample bytes, as `play` hands them to a render stream.
///
/// Every format libsndfile reads (WAV, WAVE_FORMAT_EXTENSIBLE, RF64, AIFF,
/// FLAC, Ogg Vorbis, Opus, MP3, CAF, ...) is read through libsndfile.
/// Integer encodings keep their width: 8-bit as unsigned 8-bit, 16-bit as
/// 16-bit, 20- and 24-bit as 24 bits in 32-bit containers, 32-bit as 32-bit;
/// everything else (float, double, lossy, companded, ADPCM) becomes 32-bit
/// float. A WAV file's `fmt ` chunk is also checked with ``WaveFormat``'s
/// rules, so a malformed header is reported rather than played as libsndfile
/// guesses it.
struct SoundFile {
    /// The format of ``data``: WAVE_FORMAT_PCM or IEEE_FLOAT for mono and
    /// stereo up to 16 bits and float, EXTENSIBLE otherwise (with the file's
    /// channel mask when it has one).
    var format: WaveFormat
    var sampleFormat: SampleFormat
    /// The sample bytes, a whole number of frames, little-endian.
    var data: [UInt8]
    /// What was wrong but could be played around (a short `data` chunk, a
    /// partial frame at the end), one sentence each.
    var notes: [String] = []

    var frames: Int { data.count / Int(format.blockAlign) }
    var seconds: Double { Double(frames) / Double(format.samplesPerSecond) }

    /// Reads and decodes the whole file at `path`.
    static func read(path: String) throws(WAVError) -> SoundFile {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = libsndfileReason(nil)
            let systemError = sf_error(nil) == Int32(SF_ERR_SYSTEM)
            let fileExtension = URL(fileURLWithPath: path).pathExtension.lowercased()
            if fileExtension == "wav" || fileExtension == "wave", let diagnosis = WAVDiagnosis.explain(path: path) {
                throw diagnosis
            }
            throw .unreadable(path: path, reason: systemError
                              ? reason : reason + "; convert it to WAV or FLAC (for example with ffmpeg or sox)")
        }
        defer { sf_close(file) }

        let channels = Int(info.channels)
        let (sampleFormat, data) = decode(file, channels: channels, encoding: Int(info.format & Int32(SF_FORMAT_SUBMASK)))
        guard sf_error(file) == Int32(SF_ERR_NO_ERROR) else {
            throw .unreadable(path: path, reason: libsndfileReason(file))
        }
        var sound = SoundFile(format: SoundFileWriter.canonicalFormat(sampleFormat, sampleRate: Int(info.samplerate),
                                                                    channels: channels),
                              sampleFormat: sampleFormat, data: data)
        let container = Int(info.format & Int32(SF_FORMAT_TYPEMASK))
        if container == SF_FORMAT_WAV || container == SF_FORMAT_WAVEX {
            try sound.checkWAVChunks(file, path: path, frames: Int(info.frames))
            // libsndfile opens a file that ends inside the 'data' chunk's header as one of no frames.
            if info.frames == 0, let diagnosis = WAVDiagnosis.explain(path: path) { throw diagnosis }
        }
        return sound
    }

    /// The samples of `file` in the tool's sample format for `encoding` (an
    /// `SF_FORMAT_*` subtype).
    private static func decode(_ file: OpaquePointer, channels: Int, encoding: Int) -> (SampleFormat, [UInt8]) {
        switch encoding {
        case SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8:
            // libsndfile widens 8-bit samples to 16 bits by shifting: shift back, offset to unsigned.
            return (.uint8, readFrames(file, channels: channels, sf_readf_short).map { UInt8(truncatingIfNeeded: ($0 >> 8) + 128) })
        case SF_FORMAT_PCM_16, SF_FORMAT_ALAC_16, SF_FORMAT_DWVW_16, SF_FORMAT_DPCM_16:
            return (.int16, bytes(of: readFrames(file, channels: channels, sf_readf_short)))
        case SF_FORMAT_PCM_24, SF_FORMAT_ALAC_20, SF_FORMAT_ALAC_24, SF_FORMAT_DWVW_24:
            // sf_readf_int left-justifies: exactly the layout of 24 bits in a 32-bit container.
            return (.int24In32, bytes(of: readFrames(file, channels: channels, sf_readf_int)))
        case SF_FORMAT_PCM_32, SF_FORMAT_ALAC_32:
            return (.int32, bytes(of: readFrames(file, channels: channels, sf_readf_int)))
        default:
            return (.float32, bytes(of: readFrames(file, channels: channels, sf_readf_float)))
        }
    }

    /// Checks a WAV file's `fmt ` chunk with ``WaveFormat``'s rules (PCM and
    /// float layouts only: libsndfile alone knows the codecs' headers), takes
    /// its channel mask, and notes a `data` chunk that announced more than the
    /// file holds.
    private mutating func checkWAVChunks(_ file: OpaquePointer, path: String, frames: Int) throws(WAVError) {
        guard let fmt = chunk(file, id: "fmt ") else { return }
        let header: WaveFormat
        do {
            header = try WaveFormat(bytes: fmt)
        } catch {
            throw .badFormat(path: path, reason: error.message)
        }
        let layoutKnown = header.formatTag == .pcm || header.formatTag == .ieeeFloat
            || (header.isExtensible && (header.subFormat == .pcmSubFormat || header.subFormat == .ieeeFloatSubFormat))
        guard layoutKnown else { return }
        do {
            try header.validate()
        } catch where error.code != .AUDCLNT_E_UNSUPPORTED_FORMAT {
            throw .badFormat(path: path, reason: "\(error.field): \(error.message)")
        } catch {
            // A consistent layout the converter lacks (64-bit float, ...): libsndfile decoded it.
        }
        if header.isExtensible && !header.channelMask.isEmpty && header.channelMask != .all {
            format = SoundFileWriter.canonicalFormat(sampleFormat, sampleRate: Int(format.samplesPerSecond),
                                                     channels: Int(format.channels), channelMask: header.channelMask)
        }
        guard let announced = chunkSize(file, id: "data") else { throw .missingChunk(path: path, chunk: "data") }
        // Writers that stream (and crash) leave 0 or 0xFFFFFFFF as the data size: no note for those.
        guard announced != 0xFFFF_FFFF, announced != 0 else { return }
        let blockAlign = Int(header.blockAlign)
        let held = frames * blockAlign
        if announced > held && announced < held + blockAlign {
            notes.append("\(announced - held) bytes at the end do not make a whole frame: dropped")
        } else if announced > held {
            notes.append("the 'data' chunk announces \(announced) bytes, the file holds \(held): playing those")
        }
    }

    /// This audio with 24-bit samples in 32-bit containers repacked to 3
    /// bytes (the layout ``SoundFileWriter`` writes); other formats unchanged.
    func packing24BitSamples() -> SoundFile {
        guard sampleFormat == .int24In32 else { return self }
        var packed = [UInt8]()
        packed.reserveCapacity(data.count / 4 * 3)
        for offset in stride(from: 0, to: data.count, by: 4) {
            packed += data[(offset + 1)..<(offset + 4)]
        }
        let mask = format.isExtensible ? format.channelMask : nil
        return SoundFile(format: WaveFormat(.int24Packed, sampleRate: Int(format.samplesPerSecond),
                                            channels: Int(format.channels), channelMask: mask),
                         sampleFormat: .int24Packed, data: packed, notes: notes)
    }

    /// Every remaining frame of `file`, read with `read` (one of `sf_readf_*`),
    /// interleaved.
    private static func readFrames<Sample: Numeric>(
        _ file: OpaquePointer, channels: Int,
        _ read: (OpaquePointer?, UnsafeMutablePointer<Sample>?, sf_count_t) -> sf_count_t
    ) -> [Sample] {
        let chunkFrames = 4096
        var samples: [Sample] = []
        var chunk = [Sample](repeating: 0, count: chunkFrames * channels)
        while true {
            let count = Int(chunk.withUnsafeMutableBufferPointer { read(file, $0.baseAddress, sf_count_t(chunkFrames)) })
            guard count > 0 else { return samples }
            samples += chunk[0..<count * channels]
        }
    }

    /// The in-memory (little-endian) bytes of `samples`.
    private static func bytes<Sample>(of samples: [Sample]) -> [UInt8] {
        samples.withUnsafeBytes { Array($0) }
    }
}

/// libsndfile's reason for the last error on `file` (nil: the last failed
/// open), without the trailing full stop.
private func libsndfileReason(_ file: OpaquePointer?) -> String {
    var reason = String(cString: sf_strerror(file))
    if reason.hasSuffix(".") { reason.removeLast() }
    return reason
}

/// A chunk query for libsndfile's chunk iterator: the four-character `id`.
private func chunkQuery(_ id: String) -> SF_CHUNK_INFO {
    var query = SF_CHUNK_INFO()
    withUnsafeMutableBytes(of: &query.id) { buffer in
        for (index, byte) in id.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
    }
    query.id_size = UInt32(id.utf8.count)
    return query
}

/// The size the first chunk `id` of an open RIFF file announces, as libsndfile
/// recorded it while parsing the header.
private func chunkSize(_ file: OpaquePointer, id: String) -> Int? {
    var query = chunkQuery(id)
    guard let iterator = sf_get_chunk_iterator(file, &query) else { return nil }
    var info = SF_CHUNK_INFO()
    guard sf_get_chunk_size(iterator, &info) == Int32(SF_ERR_NO_ERROR) else { return nil }
    return Int(info.datalen)
}

/// The bytes of the first chunk `id` of an open RIFF file (at most 64 KiB).
private func chunk(_ file: OpaquePointer, id: String) -> [UInt8]? {
    var query = chunkQuery(id)
    guard let iterator = sf_get_chunk_iterator(file, &query) else { return nil }
    var info = SF_CHUNK_INFO()
    guard sf_get_chunk_size(iterator, &info) == Int32(SF_ERR_NO_ERROR), info.datalen <= 1 << 16 else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(info.datalen))
    let status = bytes.withUnsafeMutableBytes { buffer in
        info.data = buffer.baseAddress
        return sf_get_chunk_data(iterator, &info)
    }
    return status == Int32(SF_ERR_NO_ERROR) ? bytes : nil
}

/// Writes a WAV file through libsndfile as samples arrive (what `record`
/// writes): WAVE_FORMAT_PCM or WAVE_FORMAT_IEEE_FLOAT for mono and stereo up
/// to 16 bits and for float, WAVE_FORMAT_EXTENSIBLE with the format's channel
/// mask for more than two channels or more than 16 integer bits, as Windows
/// tools expect. libsndfile writes the header at once and its sizes again in
/// ``finish()``. No PEAK chunk is added: a file holds `fmt ` (16 bytes
/// unless EXTENSIBLE), for float the `fact` chunk the WAV specification asks
/// for and a `PAD ` chunk libsndfile uses to align the samples, then `data`.
final class SoundFileWriter {
    let path: String
    /// The format of the bytes ``append(_:)`` takes, and of the file.
    let format: WaveFormat
    private var file: OpaquePointer?
    private(set) var dataBytes = 0

    /// The format a WAV file should carry for these samples: plain PCM or
    /// float for mono and stereo up to 16 bits and for float, EXTENSIBLE (with
    /// `channelMask`, or the default mask for the channel count) for more than
    /// two channels or more than 16 integer bits.
    static func canonicalFormat(_ sampleFormat: SampleFormat, sampleRate: Int, channels: Int,
                                channelMask: ChannelMask? = nil) -> WaveFormat {
        let extensible = channels > 2 || (!sampleFormat.isFloat && sampleFormat.validBits > 16)
        return WaveFormat(sampleFormat, sampleRate: sampleRate, channels: channels, extensible: extensible,
                          channelMask: channelMask)
    }

    /// Creates (or truncates) `path` and writes the header. `format` is one of
    /// ``canonicalFormat(_:sampleRate:channels:channelMask:)``'s, of 8, 16,
    /// 24 (packed) or 32-bit integer or 32-bit float samples.
    init(path: String, format: WaveFormat) throws(WAVError) {
        self.path = path
        self.format = format
        let encoding: Int
        switch format.sampleFormat {
        case .uint8: encoding = SF_FORMAT_PCM_U8
        case .int16: encoding = SF_FORMAT_PCM_16
        case .int24Packed: encoding = SF_FORMAT_PCM_24
        case .int32: encoding = SF_FORMAT_PCM_32
        case .float32: encoding = SF_FORMAT_FLOAT
        case .int24In32, nil:
            throw .writeFailed(path: path, reason: "\(format) is not written (24-bit samples are written packed)")
        }
        var info = SF_INFO()
        info.samplerate = Int32(clamping: Int(format.samplesPerSecond))
        info.channels = Int32(format.channels)
        info.format = Int32((format.isExtensible ? SF_FORMAT_WAVEX : SF_FORMAT_WAV) | encoding)
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw .writeFailed(path: path, reason: libsndfileReason(nil))
        }
        self.file = file
        sf_command(file, Int32(SFC_SET_ADD_PEAK_CHUNK), nil, Int32(SF_FALSE))
        if format.isExtensible, !format.channelMask.isEmpty, format.channelMask.channelCount == Int(format.channels) {
            // libsndfile writes dwChannelMask from a channel map; bit n of the mask is position n here.
            var positions = (0..<18).filter { format.channelMask.rawValue & (1 << $0) != 0 }
                .map { Int32(Self.channelPositions[$0]) }
            sf_command(file, Int32(SFC_SET_CHANNEL_MAP_INFO), &positions, Int32(positions.count * MemoryLayout<Int32>.size))
        }
    }

    /// libsndfile's channel position for each bit of a WAVE_FORMAT_EXTENSIBLE
    /// channel mask, lowest bit first.
    private static let channelPositions = [
        SF_CHANNEL_MAP_LEFT, SF_CHANNEL_MAP_RIGHT, SF_CHANNEL_MAP_CENTER, SF_CHANNEL_MAP_LFE,
        SF_CHANNEL_MAP_REAR_LEFT, SF_CHANNEL_MAP_REAR_RIGHT, SF_CHANNEL_MAP_FRONT_LEFT_OF_CENTER,
        SF_CHANNEL_MAP_FRONT_RIGHT_OF_CENTER, SF_CHANNEL_MAP_REAR_CENTER, SF_CHANNEL_MAP_SIDE_LEFT,
        SF_CHANNEL_MAP_SIDE_RIGHT, SF_CHANNEL_MAP_TOP_CENTER, SF_CHANNEL_MAP_TOP_FRONT_LEFT,
        SF_CHANNEL_MAP_TOP_FRONT_CENTER, SF_CHANNEL_MAP_TOP_FRONT_RIGHT, SF_CHANNEL_MAP_TOP_REAR_LEFT,
        SF_CHANNEL_MAP_TOP_REAR_CENTER, SF_CHANNEL_MAP_TOP_REAR_RIGHT,
    ]

    deinit { if let file { sf_close(file) } }

    /// Appends sample bytes: whole frames of ``format``, little-endian, which
    /// is the byte layout of a WAV file's samples (written as they are).
    func append(_ bytes: UnsafeRawBufferPointer) throws(WAVError) {
        guard let file else { throw .writeFailed(path: path, reason: "the file is closed") }
        guard dataBytes + bytes.count <= Int(UInt32.max) - 64 else {
            throw .writeFailed(path: path, reason: "a WAV file holds at most 4 GiB")
        }
        guard bytes.count > 0 else { return }
        let written = Int(sf_write_raw(file, bytes.baseAddress, sf_count_t(bytes.count)))
        dataBytes += max(0, written)
        guard written == bytes.count else {
            throw .writeFailed(path: path, reason: libsndfileReason(file))
        }
    }

    /// Appends `frames` frames of silence.
    func appendSilence(frames: Int) throws(WAVError) {
        let zero: UInt8 = format.sampleFormat == .uint8 ? 0x80 : 0
        let silence = [UInt8](repeating: zero, count: frames * Int(format.blockAlign))
        try append(contentsOf: silence)
    }

    /// Appends the sample bytes in `bytes` (whole frames of ``format``).
    func append(contentsOf bytes: [UInt8]) throws(WAVError) {
        var failure: WAVError?
        bytes.withUnsafeBytes { buffer in
            do throws(WAVError) { try append(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the final sizes into the header and closes the file.
    func finish() throws(WAVError) {
        guard let file else { return }
        self.file = nil
        let status = sf_close(file)
        guard status == Int32(SF_ERR_NO_ERROR) else {
            throw .writeFailed(path: path, reason: String(cString: sf_error_number(status)))
        }
    }
}

/// Words why libsndfile refused a `.wav` file, from its RIFF layout: chunk
/// ids and sizes are walked (never trusted past the file's end) and the `fmt `
/// chunk is checked with ``WaveFormat``'s rules. Nil when the layout shows
/// nothing wrong, so that libsndfile's own reason is reported.
enum WAVDiagnosis {
    static func explain(path: String) -> WAVError? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd() else { return nil }
        let size = Int(end)
        func read(_ offset: Int, _ count: Int) -> [UInt8] {
            guard (try? handle.seek(toOffset: UInt64(offset))) != nil,
                  let data = try? handle.read(upToCount: count) else { return [] }
            return [UInt8](data)
        }
        func fourCC(_ bytes: ArraySlice<UInt8>) -> String {
            String(decoding: bytes.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        }
        func u32(_ bytes: [UInt8], _ offset: Int) -> Int {
            (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }

        let header = read(0, 12)
        guard header.count == 12 else {
            if size == 0 { return .notWAV(path: path, reason: "the file is empty") }
            return .notWAV(path: path, reason: "only \(size) bytes, shorter than a RIFF header")
        }
        guard fourCC(header[0..<4]) == "RIFF" else {
            if fourCC(header[0..<4]) == "RF64" { return nil }
            return .notWAV(path: path, reason: "it starts with '\(fourCC(header[0..<4]))', not 'RIFF'")
        }
        guard fourCC(header[8..<12]) == "WAVE" else {
            return .notWAV(path: path, reason: "the RIFF form type is '\(fourCC(header[8..<12]))', not 'WAVE'")
        }

        var format: WaveFormat?
        var hasData = false
        var offset = 12
        for _ in 0..<100_000 where offset + 8 <= size {
            let chunkHeader = read(offset, 8)
            guard chunkHeader.count == 8 else { break }
            let id = fourCC(chunkHeader[0..<4])
            let chunkSize = u32(chunkHeader, 4)
            let available = size - offset - 8
            if id == "fmt " {
                guard format == nil else { return .badFormat(path: path, reason: "a second 'fmt ' chunk") }
                guard chunkSize <= available else {
                    return .truncated(path: path, reason: "the 'fmt ' chunk announces \(chunkSize) bytes, the file holds \(available)")
                }
                do {
                    format = try WaveFormat(bytes: read(offset + 8, min(chunkSize, 64)))
                } catch {
                    return .badFormat(path: path, reason: error.message)
                }
            } else if id == "data" {
                hasData = true
            }
            // Chunks are word aligned: an odd size is followed by a pad byte.
            guard chunkSize <= available else { break }
            offset += 8 + chunkSize + (chunkSize & 1)
        }

        guard let format else {
            if !hasData && size < 20 {
                return .truncated(path: path, reason: "the file ends after the RIFF header, before any chunk")
            }
            return .missingChunk(path: path, chunk: "fmt ")
        }
        do {
            try format.validate()
        } catch {
            if error.code == .AUDCLNT_E_UNSUPPORTED_FORMAT {
                return .unsupportedFormat(path: path, reason: "\(format): \(error.message)")
            }
            return .badFormat(path: path, reason: "\(error.field): \(error.message)")
        }
        guard hasData else { return .missingChunk(path: path, chunk: "data") }
        return nil
    }
}
