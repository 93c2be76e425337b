import Foundation
import PCM

/// Why a WAV file could not be read or written: one sentence that names the
/// file and the problem.
enum WAVError: Error, CustomStringConvertible {
    /// The file could not be opened or read (the system's reason).
    case unreadable(path: String, reason: String)
    /// The file is not a RIFF/WAVE file at all.
    case notWAV(path: String, reason: String)
    /// The file ends inside a structure it announced.
    case truncated(path: String, reason: String)
    /// A required chunk is missing.
    case missingChunk(path: String, chunk: String)
    /// The `fmt ` chunk is malformed or inconsistent.
    case badFormat(path: String, reason: String)
    /// The format is well formed but not one the converter plays (compressed, 12-bit, ...).
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
            "'\(path)' has an unsupported format: \(reason) (PCM 8/16/24/32-bit or 32-bit float WAV only)"
        case let .writeFailed(path, reason): "cannot write '\(path)': \(reason)"
        }
    }
}

/// A RIFF/WAVE file in memory: its format and its sample bytes (also what
/// ``SoundFile`` decodes other formats into).
///
/// Reads `fmt ` (WAVEFORMATEX, the older 16-byte PCMWAVEFORMAT, or
/// WAVEFORMATEXTENSIBLE) and `data`, skipping every other chunk. Never traps on
/// hostile input: every length is checked against what the file holds.
struct WAVFile {
    var format: WaveFormat
    var sampleFormat: SampleFormat
    /// The sample bytes, a whole number of frames.
    var data: [UInt8]
    /// Bytes dropped at the end of `data` that did not make a whole frame, or
    /// that the `data` chunk announced but the file did not hold.
    var notes: [String] = []

    var frames: Int { data.count / Int(format.blockAlign) }
    var seconds: Double { Double(frames) / Double(format.samplesPerSecond) }

    /// Reads and parses the file at `path`.
    static func read(path: String) throws(WAVError) -> WAVFile {
        let bytes: [UInt8]
        do {
            bytes = try readAll(path: path)
        } catch let error as WAVError {
            throw error
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        return try parse(bytes, path: path)
    }

    private static func readAll(path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw WAVError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WAVError.unreadable(path: path, reason: "not a regular file")
        }
        guard let file = fopen(path, "rb") else {
            throw WAVError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(file) != 0 { throw WAVError.unreadable(path: path, reason: String(cString: strerror(errno))) }
                break
            }
        }
        return bytes
    }

    /// Parses the bytes of a WAV file (`path` only names it in errors).
    static func parse(_ bytes: [UInt8], path: String) throws(WAVError) -> WAVFile {
        func u32(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        }
        func fourCC(_ offset: Int) -> String {
            String(decoding: bytes[offset..<offset + 4].map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        }
        guard bytes.count >= 12 else {
            if bytes.isEmpty { throw .notWAV(path: path, reason: "the file is empty") }
            throw .notWAV(path: path, reason: "only \(bytes.count) bytes, shorter than a RIFF header")
        }
        guard fourCC(0) == "RIFF" else {
            if fourCC(0) == "RF64" { throw .unsupportedFormat(path: path, reason: "RF64 (64-bit RIFF) files are not read") }
            throw .notWAV(path: path, reason: "it starts with '\(fourCC(0))', not 'RIFF'")
        }
        guard fourCC(8) == "WAVE" else {
            throw .notWAV(path: path, reason: "the RIFF form type is '\(fourCC(8))', not 'WAVE'")
        }

        var format: WaveFormat?
        var dataRange: Range<Int>?
        var notes: [String] = []
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = fourCC(offset)
            let size = Int(u32(offset + 4))
            let body = offset + 8
            let available = bytes.count - body
            switch id {
            case "fmt ":
                guard format == nil else { throw .badFormat(path: path, reason: "a second 'fmt ' chunk") }
                guard size <= available else {
                    throw .truncated(path: path, reason: "the 'fmt ' chunk announces \(size) bytes, the file holds \(available)")
                }
                do {
                    format = try WaveFormat(bytes: bytes[body..<body + size])
                } catch {
                    throw .badFormat(path: path, reason: error.message)
                }
            case "data":
                guard dataRange == nil else { throw .badFormat(path: path, reason: "a second 'data' chunk") }
                // Writers that stream (and crash) leave 0 or 0xFFFFFFFF here: take what the file holds.
                if size > available {
                    if size != 0xFFFF_FFFF {
                        notes.append("the 'data' chunk announces \(size) bytes, the file holds \(available): playing those")
                    }
                    dataRange = body..<bytes.count
                } else {
                    dataRange = body..<body + size
                }
            default:
                break
            }
            // Chunks are word aligned: an odd size is followed by a pad byte.
            let next = body + size + (size & 1)
            guard next > offset, size <= available else { break }
            offset = next
        }

        guard let format else {
            if dataRange == nil && bytes.count < 20 {
                throw .truncated(path: path, reason: "the file ends after the RIFF header, before any chunk")
            }
            throw .missingChunk(path: path, chunk: "fmt ")
        }
        guard let dataRange else { throw .missingChunk(path: path, chunk: "data") }
        let sampleFormat: SampleFormat
        do {
            sampleFormat = try format.validate()
        } catch {
            if error.code == .AUDCLNT_E_UNSUPPORTED_FORMAT {
                throw .unsupportedFormat(path: path, reason: "\(format): \(error.message)")
            }
            throw .badFormat(path: path, reason: "\(error.field): \(error.message)")
        }
        let blockAlign = Int(format.blockAlign)
        let whole = dataRange.count / blockAlign * blockAlign
        if whole != dataRange.count {
            notes.append("\(dataRange.count - whole) bytes at the end do not make a whole frame: dropped")
        }
        return WAVFile(format: format, sampleFormat: sampleFormat,
                       data: Array(bytes[dataRange.lowerBound..<dataRange.lowerBound + whole]), notes: notes)
    }
}

/// Writes a canonical WAV file as samples arrive: RIFF header, `fmt `, and
/// `data`, whose sizes are patched by ``finish()``.
final class WAVWriter {
    let path: String
    let format: WaveFormat
    private var file: UnsafeMutablePointer<FILE>?
    private(set) var dataBytes = 0
    private let dataSizeOffset: Int

    /// The format a WAV file should carry for these samples: WAVE_FORMAT_PCM
    /// or WAVE_FORMAT_IEEE_FLOAT for mono and stereo up to 16 bits and for
    /// float, WAVE_FORMAT_EXTENSIBLE (as Microsoft asks) for more than two
    /// channels or more than 16 integer bits.
    static func canonicalFormat(_ sampleFormat: SampleFormat, sampleRate: Int, channels: Int) -> WaveFormat {
        let extensible = channels > 2 || (!sampleFormat.isFloat && sampleFormat.validBits > 16)
        return WaveFormat(sampleFormat, sampleRate: sampleRate, channels: channels, extensible: extensible)
    }

    /// Creates (or truncates) `path` and writes the header.
    init(path: String, format: WaveFormat) throws(WAVError) {
        self.path = path
        self.format = format
        guard let file = fopen(path, "wb") else {
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        self.file = file
        var fmt = format.serialized()
        // Plain PCM is written as the canonical 16-byte PCMWAVEFORMAT (no cbSize).
        if format.formatTag == .pcm { fmt.removeLast(2) }
        var header: [UInt8] = []
        header += Array("RIFF".utf8)
        header.appendLE(UInt32(0))
        header += Array("WAVEfmt ".utf8)
        header.appendLE(UInt32(fmt.count))
        header += fmt
        header += Array("data".utf8)
        dataSizeOffset = header.count
        header.appendLE(UInt32(0))
        try write(header)
    }

    deinit { if let file { fclose(file) } }

    private func write(_ bytes: UnsafeRawBufferPointer) throws(WAVError) {
        guard let file else { throw .writeFailed(path: path, reason: "the file is closed") }
        guard bytes.count > 0 else { return }
        if fwrite(bytes.baseAddress, 1, bytes.count, file) != bytes.count {
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    private func write(_ bytes: [UInt8]) throws(WAVError) {
        guard let file else { throw .writeFailed(path: path, reason: "the file is closed") }
        if fwrite(bytes, 1, bytes.count, file) != bytes.count {
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Appends sample bytes (whole frames of ``format``).
    func append(_ bytes: UnsafeRawBufferPointer) throws(WAVError) {
        guard dataBytes + bytes.count <= Int(UInt32.max) - 64 else {
            throw .writeFailed(path: path, reason: "a WAV file holds at most 4 GiB")
        }
        try write(bytes)
        dataBytes += bytes.count
    }

    /// Appends `frames` frames of silence.
    func appendSilence(frames: Int) throws(WAVError) {
        let zero: UInt8 = format.sampleFormat == .uint8 ? 0x80 : 0
        let silence = [UInt8](repeating: zero, count: frames * Int(format.blockAlign))
        guard dataBytes + silence.count <= Int(UInt32.max) - 64 else {
            throw .writeFailed(path: path, reason: "a WAV file holds at most 4 GiB")
        }
        try write(silence)
        dataBytes += silence.count
    }

    /// Pads the data chunk, patches the RIFF and `data` sizes, and closes the file.
    func finish() throws(WAVError) {
        guard let file else { return }
        if dataBytes & 1 == 1 { try write([0]) }
        let riffSize = UInt32(dataSizeOffset + 4 + dataBytes + (dataBytes & 1) - 8)
        var riff: [UInt8] = [], data: [UInt8] = []
        riff.appendLE(riffSize)
        data.appendLE(UInt32(dataBytes))
        guard fseek(file, 4, SEEK_SET) == 0 else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        try write(riff)
        guard fseek(file, dataSizeOffset, SEEK_SET) == 0 else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        try write(data)
        self.file = nil
        if fclose(file) != 0 { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
