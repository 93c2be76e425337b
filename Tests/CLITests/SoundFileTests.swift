import Foundation
import JackTestSupport
import SignalAnalysis
import Testing

/// An AIFF file built byte by byte (big-endian, as AIFF is), for fixtures
/// that only libsndfile reads.
struct AIFFBytes {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
    mutating func tag(_ text: String) { bytes += Array(text.utf8) }

    /// `rate` as an 80-bit IEEE extended float: exponent (biased by 16383),
    /// then a 64-bit mantissa whose top bit is the explicit integer bit.
    mutating func extended(_ rate: Int) {
        let shift = UInt64(rate).leadingZeroBitCount
        u16(UInt16(16383 + 63 - shift))
        let mantissa = UInt64(rate) << shift
        u32(UInt32(mantissa >> 32))
        u32(UInt32(truncatingIfNeeded: mantissa))
    }

    /// FORM/AIFF with COMM and SSND: 16-bit PCM holding a sine on every channel.
    static func tone(frequency: Double, amplitude: Double, rate: Int, channels: Int, seconds: Double) -> [UInt8] {
        let frames = Int(Double(rate) * seconds)
        var samples = AIFFBytes()
        for frame in 0..<frames {
            let value = Int16((amplitude * sin(2 * .pi * frequency * Double(frame) / Double(rate)) * 32767).rounded())
            for _ in 0..<channels { samples.u16(UInt16(bitPattern: value)) }
        }
        var file = AIFFBytes()
        file.tag("FORM")
        file.u32(UInt32(4 + 26 + 16 + samples.bytes.count))
        file.tag("AIFF")
        file.tag("COMM")
        file.u32(18)
        file.u16(UInt16(channels))
        file.u32(UInt32(frames))
        file.u16(16)
        file.extended(rate)
        file.tag("SSND")
        file.u32(UInt32(8 + samples.bytes.count))
        file.u32(0)  // offset
        file.u32(0)  // block size
        file.bytes += samples.bytes
        return file.bytes
    }
}

@Suite("play reads the formats libsndfile reads", .serialized, .timeLimit(.minutes(15)))
struct SoundFileTests {
    @Test("play a 44.1 kHz 16-bit AIFF tone while record --loopback writes it: 1 kHz at -6 dBFS")
    func aiffLoopback() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(AIFFBytes.tone(frequency: 1000, amplitude: 0.5, rate: 44_100, channels: 2, seconds: 1.5),
                                    named: "tone.aiff", in: directory)
        let output = directory + "/out.wav"
        try await withJackServer { server in
            let (played, recorded) = try await playWhileRecordingLoopback(tone, to: output, server: server.name)
            #expect(played.status == 0, "\(played.standardError)")
            #expect(played.standardOutput.contains("played 66150 frames"), "\(played.standardOutput)")
            #expect(played.standardOutput.contains("16-bit PCM, 2 ch, 44100 Hz"), "\(played.standardOutput)")
            #expect(recorded.status == 130 && recorded.standardOutput.contains("interrupted: recorded"),
                    "status \(recorded.status): \(recorded.standardOutput) \(recorded.standardError)")

            let wav = try WrittenWAV(path: output)
            #expect(wav.channels == 2 && wav.rate == 48_000 && wav.bits == 16)
            expectHalfScaleKilohertzTone(in: wav)
        }
    }

    @Test("a file libsndfile cannot read fails with one line naming it and libsndfile's reason")
    func unreadableFile() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SystemRandomNumberGenerator()
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let path = try writeFixture(garbage, named: "x.ogg", in: directory)
        let result = try runBuiltProduct(["play", "--server", "wasapi-cli-never-reached", path])
        expectCleanFailure(result, mentioning: ["cannot read", "x.ogg", "convert it"])
    }
}

@Suite("play's session options", .serialized, .timeLimit(.minutes(15)))
struct PlaySessionTests {
    @Test("play --session-name --role communications: another process lists the session by that name, active")
    func sessionNameIsListed() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 8 s: each listing is a process of its own, which a loaded machine may take a second to run.
        let tone = try writeFixture(WAVBytes.tone(frequency: 440, amplitude: 0.25, rate: 48_000, channels: 2, seconds: 8),
                                    named: "tone.wav", in: directory)
        try await withJackServer { server in
            let playing = runInBackground(["play", "--server", server.name, "--role", "communications",
                                           "--session-name", "Tone for the mixer", tone])
            struct Row: Decodable { var displayName: String; var state: String; var pid: Int32 }
            var rows: [Row] = []
            let deadline = ContinuousClock.now + .seconds(7)
            while !rows.contains(where: { $0.displayName == "Tone for the mixer" }) && ContinuousClock.now < deadline {
                try await pause(for: .milliseconds(100))
                let listed = try runBuiltProduct(["sessions", "--json", "--server", server.name])
                rows = (try? JSONDecoder().decode([Row].self, from: Data(listed.standardOutput.utf8))) ?? []
            }
            let played = try await playing.value
            #expect(played.status == 0, "\(played.standardError)")
            let session = try #require(rows.first { $0.displayName == "Tone for the mixer" }, "listed: \(rows)")
            #expect(session.state == "active")
            #expect(session.pid != getpid(), "the session belongs to the play process")
        }
    }
}

/// The chunks of a RIFF/WAVE file, by id (the first of each), for checks on
/// the files the tool writes.
struct RIFFChunks {
    var chunks: [String: [UInt8]] = [:]
    var order: [String] = []

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(bytes.count >= 12 && Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<12]) == Array("WAVE".utf8))
        func u32(_ offset: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) } }
        #expect(u32(4) == bytes.count - 8, "the RIFF size covers the file")
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            try #require(offset + 8 + size <= bytes.count, "chunk '\(id)' runs past the end")
            if chunks[id] == nil { chunks[id] = Array(bytes[offset + 8..<offset + 8 + size]); order.append(id) }
            offset += 8 + size + (size & 1)
        }
    }

    func u16(_ id: String, _ offset: Int) -> Int { Int(chunks[id]![offset]) | Int(chunks[id]![offset + 1]) << 8 }
    func u32(_ id: String, _ offset: Int) -> Int { u16(id, offset) | u16(id, offset + 2) << 16 }
}

/// A WAV file of `data` in one of the layouts `record` writes: tag 1 or 3
/// (float with an 18-byte `fmt `, as the tool's own writer wrote before
/// libsndfile), or WAVE_FORMAT_EXTENSIBLE.
func wavBytes(bits: Int, float: Bool, channels: Int, rate: Int, extensible: Bool, channelMask: UInt32, data: [UInt8]) -> [UInt8] {
    var fmt = WAVBytes()
    fmt.u16(extensible ? 0xFFFE : (float ? 3 : 1))
    fmt.u16(UInt16(channels))
    fmt.u32(UInt32(rate))
    fmt.u32(UInt32(rate * channels * bits / 8))
    fmt.u16(UInt16(channels * bits / 8))
    fmt.u16(UInt16(bits))
    if extensible {
        fmt.u16(22); fmt.u16(UInt16(bits)); fmt.u32(channelMask)
        fmt.u32(float ? 3 : 1); fmt.u16(0); fmt.u16(0x10)
        fmt.bytes += [0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    } else if float {
        fmt.u16(0)
    }
    var file = WAVBytes()
    file.tag("RIFF")
    file.u32(UInt32(4 + 8 + fmt.bytes.count + 8 + data.count + (data.count & 1)))
    file.tag("WAVE")
    file.tag("fmt "); file.u32(UInt32(fmt.bytes.count)); file.bytes += fmt.bytes
    file.tag("data"); file.u32(UInt32(data.count)); file.bytes += data
    if data.count & 1 == 1 { file.bytes.append(0) }
    return file.bytes
}

@Suite("the sound file reader and the WAV writer (libsndfile)", .timeLimit(.minutes(15)))
struct RoundTripSoundFileTests {
    struct Layout: CustomTestStringConvertible, Sendable {
        var bits: Int, float: Bool, channels: Int
        /// What the writer must put in the header.
        var tag: Int, mask: UInt32
        var testDescription: String { "\(float ? "float" : "int")\(bits), \(channels) ch" }
    }

    static let layouts: [Layout] = [
        Layout(bits: 8, float: false, channels: 2, tag: 1, mask: 0),
        Layout(bits: 16, float: false, channels: 1, tag: 1, mask: 0),
        Layout(bits: 16, float: false, channels: 3, tag: 0xFFFE, mask: 0x7),
        Layout(bits: 24, float: false, channels: 2, tag: 0xFFFE, mask: 0x3),
        Layout(bits: 32, float: false, channels: 2, tag: 0xFFFE, mask: 0x3),
        Layout(bits: 32, float: true, channels: 2, tag: 3, mask: 0),
        Layout(bits: 32, float: true, channels: 6, tag: 0xFFFE, mask: 0x3F),
    ]

    /// Every sample value's extremes and neighbours of zero, then seeded noise
    /// over the whole range (for float: signed zeros, a subnormal, +-1 and
    /// values past full scale, then noise in -1...1).
    static func samples(_ layout: Layout, frames: Int) -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(layout.bits * 10 + layout.channels))
        let count = frames * layout.channels
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T, width: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0.prefix(width) }
        }
        if layout.float {
            let edges: [Float] = [0, -0.0, .leastNonzeroMagnitude, 1, -1, 1.5, -2, .ulpOfOne]
            for index in 0..<count {
                let value = index < edges.count ? edges[index] : Float.random(in: -1...1, using: &generator)
                append(value.bitPattern, width: 4)
            }
            return bytes
        }
        let width = layout.bits / 8
        let top = (Int64(1) << (layout.bits - 1)) - 1
        let edges: [Int64] = [0, 1, -1, top, -top - 1, top - 1, -top]
        for index in 0..<count {
            let value = index < edges.count ? edges[index] : Int64.random(in: (-top - 1)...top, using: &generator)
            // 8-bit WAV samples are unsigned: offset binary.
            append(layout.bits == 8 ? UInt64(value + 128) : UInt64(bitPattern: value), width: width)
        }
        return bytes
    }

    @Test("record --from-file writes what the reader read, bit for bit, and reads back its own file", arguments: layouts)
    func roundTrip(_ layout: Layout) throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = Self.samples(layout, frames: 5_001)
        let source = try writeFixture(wavBytes(bits: layout.bits, float: layout.float, channels: layout.channels,
                                               rate: 44_100, extensible: layout.tag == 0xFFFE, channelMask: layout.mask,
                                               data: data),
                                      named: "source.wav", in: directory)
        let first = directory + "/first.wav", second = directory + "/second.wav"
        for (input, output) in [(source, first), (first, second)] {
            let result = try runBuiltProduct(["record", "--from-file", input, output])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("wrote 5001 frames"), "\(result.standardOutput)")
            #expect(result.standardError.isEmpty, "no warnings: \(result.standardError)")

            let written = try RIFFChunks(path: output)
            #expect(written.order.first == "fmt " && written.order.contains("data"), "\(written.order)")
            #expect(!written.order.contains("PEAK"), "no PEAK chunk: \(written.order)")
            #expect(written.u16("fmt ", 0) == layout.tag)
            #expect(written.u16("fmt ", 2) == layout.channels)
            #expect(written.u32("fmt ", 4) == 44_100)
            #expect(written.u16("fmt ", 14) == layout.bits)
            // libsndfile writes the 16-byte PCMWAVEFORMAT layout for float too (no cbSize), then `fact`.
            #expect(written.chunks["fmt "]!.count == (layout.tag == 0xFFFE ? 40 : 16))
            if layout.tag == 0xFFFE {
                #expect(written.u16("fmt ", 18) == layout.bits, "wValidBitsPerSample")
                #expect(written.u32("fmt ", 20) == Int(layout.mask), "dwChannelMask")
                #expect(written.u16("fmt ", 24) == (layout.float ? 3 : 1), "SubFormat")
            }
            let samples = try #require(written.chunks["data"])
            #expect(samples.count == data.count)
            // Compared without printing the arrays: a failure names the first differing byte.
            let firstDifference = zip(samples, data).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(firstDifference == nil,
                    "byte \(firstDifference?.offset ?? -1): \(firstDifference?.element.0 ?? 0), expected \(firstDifference?.element.1 ?? 0)")
        }
    }
}
