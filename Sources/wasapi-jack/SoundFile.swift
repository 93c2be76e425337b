import CSndFile
import Foundation
import PCM

/// Reads the sound files `play` takes: `.wav` files with the project's own
/// reader (``WAVFile``, whose warnings name what is wrong in a malformed
/// file), every other file with libsndfile (AIFF, FLAC, Ogg Vorbis, Opus,
/// MP3, CAF, RF64, ...).
enum SoundFile {
    /// The audio of the file at `path`, as a WAV file would hold it.
    static func read(path: String) throws -> WAVFile {
        let fileExtension = URL(fileURLWithPath: path).pathExtension.lowercased()
        if fileExtension == "wav" || fileExtension == "wave" {
            return try WAVFile.read(path: path)
        }
        return try readWithSndFile(path: path)
    }

    /// Decodes the whole file with libsndfile. Integer encodings stay integers
    /// of their own width (8-bit as unsigned 8-bit, 24-bit and 20-bit as 24
    /// bits in 32-bit containers); everything else (float, double, lossy,
    /// companded or ADPCM) becomes 32-bit float.
    private static func readWithSndFile(path: String) throws -> WAVFile {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            var reason = String(cString: sf_strerror(nil))
            if reason.hasSuffix(".") { reason.removeLast() }
            if sf_error(nil) != Int32(SF_ERR_SYSTEM) {
                reason += "; convert it to WAV or FLAC (for example with ffmpeg or sox)"
            }
            throw CommandFailure("cannot read '\(path)': \(reason)")
        }
        defer { sf_close(file) }

        let channels = Int(info.channels)
        let sampleFormat: SampleFormat
        let data: [UInt8]
        switch Int(info.format & Int32(SF_FORMAT_SUBMASK)) {
        case SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8:
            sampleFormat = .uint8
            // libsndfile widens 8-bit samples to 16 bits by shifting: shift back, offset to unsigned.
            data = readFrames(file, channels: channels, sf_readf_short).map { UInt8(truncatingIfNeeded: ($0 >> 8) + 128) }
        case SF_FORMAT_PCM_16, SF_FORMAT_ALAC_16, SF_FORMAT_DWVW_16, SF_FORMAT_DPCM_16:
            sampleFormat = .int16
            data = bytes(of: readFrames(file, channels: channels, sf_readf_short))
        case SF_FORMAT_PCM_24, SF_FORMAT_ALAC_20, SF_FORMAT_ALAC_24, SF_FORMAT_DWVW_24:
            // sf_readf_int left-justifies: exactly the layout of 24 bits in a 32-bit container.
            sampleFormat = .int24In32
            data = bytes(of: readFrames(file, channels: channels, sf_readf_int))
        case SF_FORMAT_PCM_32, SF_FORMAT_ALAC_32:
            sampleFormat = .int32
            data = bytes(of: readFrames(file, channels: channels, sf_readf_int))
        default:
            sampleFormat = .float32
            data = bytes(of: readFrames(file, channels: channels, sf_readf_float))
        }
        guard sf_error(file) == Int32(SF_ERR_NO_ERROR) else {
            throw CommandFailure("cannot read '\(path)': \(String(cString: sf_strerror(file)))")
        }

        let format = WAVWriter.canonicalFormat(sampleFormat, sampleRate: Int(info.samplerate), channels: channels)
        return WAVFile(format: format, sampleFormat: sampleFormat, data: data)
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
