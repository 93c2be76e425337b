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

@Suite("play reads the formats libsndfile reads", .serialized)
struct SoundFileTests {
    @Test("play a 44.1 kHz 16-bit AIFF tone while record --loopback writes it: 1 kHz at -6 dBFS")
    func aiffLoopback() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        let tone = try writeFixture(AIFFBytes.tone(frequency: 1000, amplitude: 0.5, rate: 44_100, channels: 2, seconds: 1.5),
                                    named: "tone.aiff", in: directory)
        let output = directory + "/out.wav"
        try await withJackServer { server in
            let (played, recorded) = try await playWhileRecordingLoopback(tone, to: output, server: server.name)
            #expect(played.status == 0, "\(played.standardError)")
            #expect(played.standardOutput.contains("played 66150 frames"), "\(played.standardOutput)")
            #expect(played.standardOutput.contains("16-bit PCM, 2 ch, 44100 Hz"), "\(played.standardOutput)")
            #expect(recorded.status == 0, "\(recorded.standardError)")

            let wav = try WrittenWAV(path: output)
            #expect(wav.channels == 2 && wav.rate == 48_000 && wav.bits == 16)
            expectHalfScaleKilohertzTone(in: wav)
        }
    }

    @Test("a file libsndfile cannot read fails with one line naming it and libsndfile's reason")
    func unreadableFile() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        var generator = SystemRandomNumberGenerator()
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let path = try writeFixture(garbage, named: "x.ogg", in: directory)
        let result = try runBuiltProduct(["play", "--server", "wasapi-cli-never-reached", path])
        expectCleanFailure(result, mentioning: ["cannot read", "x.ogg", "convert it"])
    }
}

@Suite("play's session options", .serialized)
struct PlaySessionTests {
    @Test("play --session-name --role communications: another process lists the session by that name, active")
    func sessionNameIsListed() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        let tone = try writeFixture(WAVBytes.tone(frequency: 440, amplitude: 0.25, rate: 48_000, channels: 2, seconds: 3),
                                    named: "tone.wav", in: directory)
        try await withJackServer { server in
            let playing = runInBackground(["play", "--server", server.name, "--role", "communications",
                                           "--session-name", "Tone for the mixer", tone])
            struct Row: Decodable { var displayName: String; var state: String; var pid: Int32 }
            var rows: [Row] = []
            for _ in 0..<40 where !rows.contains(where: { $0.displayName == "Tone for the mixer" }) {
                try await Task.sleep(for: .milliseconds(100))
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
