import Foundation
import JackTestSupport
import SignalAnalysis
import Testing

// The command-line tool is an executable target, which tests cannot import:
// these tests run the built `wasapi-jack` (see `runBuiltProduct`) and check
// what it prints and writes.

/// A WAV file built byte by byte, for fixtures (valid and broken).
struct WAVBytes {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func tag(_ text: String) { bytes += Array(text.utf8) }

    /// A canonical 16-bit PCM file holding a sine on every channel.
    static func tone(frequency: Double, amplitude: Double, rate: Int, channels: Int, seconds: Double) -> [UInt8] {
        let frames = Int(Double(rate) * seconds)
        var samples = WAVBytes()
        for frame in 0..<frames {
            let value = Int16((amplitude * sin(2 * .pi * frequency * Double(frame) / Double(rate)) * 32767).rounded())
            for _ in 0..<channels { samples.u16(UInt16(bitPattern: value)) }
        }
        return pcm16(rate: rate, channels: channels, data: samples.bytes)
    }

    /// RIFF, WAVE, a 16-byte `fmt ` and `data`, with optional chunks before `fmt `.
    static func pcm16(rate: Int, channels: Int, data: [UInt8], extraChunks: [UInt8] = [],
                      blockAlign: Int? = nil, formatTag: UInt16 = 1, dataSize: UInt32? = nil) -> [UInt8] {
        var file = WAVBytes()
        file.tag("RIFF")
        file.u32(UInt32(4 + extraChunks.count + 24 + 8 + data.count))
        file.tag("WAVE")
        file.bytes += extraChunks
        file.tag("fmt ")
        file.u32(16)
        file.u16(formatTag)
        file.u16(UInt16(channels))
        file.u32(UInt32(rate))
        let align = blockAlign ?? 2 * channels
        file.u32(UInt32(rate * align))
        file.u16(UInt16(align))
        file.u16(16)
        file.tag("data")
        file.u32(dataSize ?? UInt32(data.count))
        file.bytes += data
        return file.bytes
    }
}

/// The `fmt ` fields and the samples of a 16-bit or float WAV file the tool wrote.
struct WrittenWAV {
    var formatTag: UInt16 = 0, channels = 0, rate = 0, bits = 0
    var dataSize = 0, riffSize = 0, fileSize = 0
    var samples: [Float] = []

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> Int { u16(offset) | u16(offset + 2) << 16 }
        try #require(bytes.count >= 12 && String(decoding: bytes[0..<4], as: UTF8.self) == "RIFF")
        fileSize = bytes.count
        riffSize = u32(4)
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            let body = offset + 8
            if id == "fmt " {
                formatTag = UInt16(u16(body)); channels = u16(body + 2); rate = u32(body + 4); bits = u16(body + 14)
            } else if id == "data" {
                dataSize = size
                let end = min(bytes.count, body + size)
                if bits == 16 {
                    samples = stride(from: body, to: end - 1, by: 2).map { Float(Int16(bitPattern: UInt16(u16($0)))) / 32768 }
                } else if bits == 32 {
                    samples = stride(from: body, to: end - 3, by: 4).map { Float(bitPattern: UInt32(u32($0))) }
                }
            }
            offset = body + size + (size & 1)
        }
    }
}

func writeFixture(_ bytes: [UInt8], named name: String, in directory: String) throws -> String {
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// Runs the tool on another thread (to run two children at once).
func runInBackground(_ arguments: [String]) -> Task<ChildProcessResult, any Error> {
    Task.detached { try runBuiltProduct(arguments) }
}

/// Waits until a port whose full name satisfies `matches` is on `server`
/// (polling `jack_lsp`), at most `timeoutSeconds`; throws naming what it waited for.
func waitForPorts(on server: String, timeoutSeconds: Double, _ matches: (String) -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
    while ContinuousClock.now < deadline {
        let listing = try runProgram("/usr/bin/jack_lsp", ["-s", server], timeoutSeconds: 10)
        if listing.standardOutput.split(separator: "\n").contains(where: { matches(String($0)) }) { return }
        try await pause(for: .milliseconds(50))
    }
    throw CommandTimeout(what: "the expected ports on '\(server)'", seconds: timeoutSeconds)
}

/// A wait in a CLI test that ran out.
struct CommandTimeout: Error, CustomStringConvertible {
    var what: String
    var seconds: Double
    var description: String { "waited \(seconds) s for \(what)" }
}

/// Runs `play FILE` on `server` while `record --loopback` writes `output`:
/// the recorder starts first (so that it hears the whole file) and is ended
/// with SIGINT once `play` has exited (``stopRecorder(_:)``), so the
/// recording holds the whole file however long either start took. `recorded`
/// is the recorder's result: 130, with the file finished.
func playWhileRecordingLoopback(_ file: String, to output: String,
                                server: String) async throws -> (played: ChildProcessResult, recorded: ChildProcessResult) {
    let recorder = try await startRecorder(["--loopback", output], on: server)
    let played = try runBuiltProduct(["play", "--server", server, file])
    return (played, try stopRecorder(recorder))
}

/// Starts `record ARGUMENTS --seconds 60` on `server` and returns once its
/// ports are in the graph (at most 40 s); if it exits first, throws with
/// what it printed.
func startRecorder(_ arguments: [String], on server: String) async throws -> RunningProcess {
    let recorder = try RunningProcess(product: "wasapi-jack",
                                      arguments: ["record", "--server", server, "--seconds", "60"] + arguments)
    let deadline = ContinuousClock.now + .seconds(40)
    while ContinuousClock.now < deadline {
        guard recorder.isRunning else {
            throw CommandTimeout(what: "record's ports on '\(server)': it exited with \(recorder.terminationStatus): "
                                 + recorder.standardError, seconds: 40)
        }
        let listing = try runProgram("/usr/bin/jack_lsp", ["-s", server], timeoutSeconds: 10)
        if listing.standardOutput.split(separator: "\n").contains(where: { $0.hasPrefix("wasapi-jack") && $0.contains(".in_") }) {
            return recorder
        }
        try await pause(for: .milliseconds(50))
    }
    recorder.stop()
    throw CommandTimeout(what: "record's ports on '\(server)'; it printed: \(recorder.standardError)", seconds: 40)
}

/// Ends a recorder from ``startRecorder(_:on:)`` with SIGINT 300 ms after the
/// sound it waited for has gone (`record` finishes its file and exits 130).
func stopRecorder(_ recorder: RunningProcess) throws -> ChildProcessResult {
    usleep(300_000)
    kill(recorder.processIdentifier, SIGINT)
    let status = try recorder.waitForExit(timeoutSeconds: 20)
    return ChildProcessResult(status: status, standardOutput: recorder.standardOutput, standardError: recorder.standardError)
}

/// Expects both channels of a 48 kHz stereo recording to hold a steady 1 kHz
/// tone at -6 dBFS (within 1 Hz and 0.3 dB) for at least one second.
func expectHalfScaleKilohertzTone(in wav: WrittenWAV, sourceLocation: SourceLocation = #_sourceLocation) {
    for channel in 0..<2 {
        let samples = stride(from: channel, to: wav.samples.count, by: 2).map { wav.samples[$0] }
        let steady = SignalAnalysis.steadyPart(samples, skip: 4_800, count: 48_000)
        #expect(steady.count == 48_000, "the tone is shorter than expected in the recording", sourceLocation: sourceLocation)
        let frequency = SignalAnalysis.frequency(steady, rate: 48_000)
        let level = 20 * log10(max(SignalAnalysis.sineAmplitude(steady), 1e-9))
        #expect(abs(frequency - 1000) < 1, "channel \(channel): frequency \(frequency)", sourceLocation: sourceLocation)
        #expect(abs(level - 20 * log10(0.5)) < 0.3, "channel \(channel): level \(level) dBFS", sourceLocation: sourceLocation)
    }
}

/// The exit status of a run that failed cleanly: 1, not a crash signal.
func expectCleanFailure(_ result: ChildProcessResult, mentioning words: [String],
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 1, "status \(result.status); stderr: \(result.standardError)", sourceLocation: sourceLocation)
    let lines = result.standardError.split(separator: "\n")
    #expect(lines.count == 1, "one line expected: \(result.standardError)", sourceLocation: sourceLocation)
    for word in words {
        #expect(result.standardError.contains(word), "'\(word)' missing from: \(result.standardError)",
                sourceLocation: sourceLocation)
    }
}

@Suite("wasapi-jack on a JACK server", .serialized, .timeLimit(.minutes(15)))
struct CLIServerTests {
    @Test("devices --json lists the fixture's two endpoints: 2 channels, 48 kHz")
    func devicesJSON() async throws {
        try await withJackServer { server in
            let result = try runBuiltProduct(["devices", "--server", server.name, "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            struct Row: Decodable { var id: String; var flow: String; var channels: Int; var sampleRate: Int; var state: String }
            let rows = try JSONDecoder().decode([Row].self, from: Data(result.standardOutput.utf8))
            #expect(rows.count == 2)
            #expect(Set(rows.map(\.flow)) == ["render", "capture"])
            #expect(rows.allSatisfy { $0.channels == 2 && $0.sampleRate == 48_000 })
        }
    }

    @Test("play a 44.1 kHz 16-bit tone while record --loopback writes it: 1 kHz at -6 dBFS in a 48 kHz WAV")
    func loopbackRoundTrip() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 44_100, channels: 2, seconds: 1.5),
                                    named: "tone.wav", in: directory)
        let output = directory + "/out.wav"
        try await withJackServer { server in
            let (played, recorded) = try await playWhileRecordingLoopback(tone, to: output, server: server.name)
            #expect(played.status == 0, "\(played.standardError)")
            #expect(played.standardOutput.contains("played 66150 frames"), "\(played.standardOutput)")
            #expect(recorded.status == 130 && recorded.standardOutput.contains("interrupted: recorded"),
                    "status \(recorded.status): \(recorded.standardOutput) \(recorded.standardError)")
            #expect(recorded.standardOutput.contains("0 discontinuities"), "\(recorded.standardOutput)")
            // The summary's frame count, which the file's data chunk must match.
            let frames = recorded.standardOutput.split(separator: " ").drop { $0 != "recorded" }.dropFirst().first.flatMap { Int($0) }

            let wav = try WrittenWAV(path: output)
            #expect(wav.formatTag == 1 && wav.channels == 2 && wav.rate == 48_000 && wav.bits == 16)
            #expect(frames.map { wav.dataSize == $0 * 4 && $0 > 72_000 } == true, "\(recorded.standardOutput)")
            #expect(wav.riffSize == wav.fileSize - 8)
            expectHalfScaleKilohertzTone(in: wav)
        }
    }

    @Test("record --format f32 --rate 44100 --channels 1 writes a 44.1 kHz mono float WAV")
    func recordConvertedFormat() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/mono.wav"
        try await withJackServer { server in
            let result = try runBuiltProduct(["record", "--server", server.name, "--seconds", "0.5",
                                              "--format", "f32", "--rate", "44100", "--channels", "1", output])
            #expect(result.status == 0, "\(result.standardError)")
            let wav = try WrittenWAV(path: output)
            #expect(wav.formatTag == 3 && wav.channels == 1 && wav.rate == 44_100 && wav.bits == 32)
            #expect(wav.dataSize == 22_050 * 4)
        }
    }

    @Test("play with --drive timer, --volume and a WAV with odd-sized unknown chunks and a short data chunk")
    func playTimerDrivenOddFile() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var list = WAVBytes()
        list.tag("LIST"); list.u32(5); list.bytes += [1, 2, 3, 4, 5, 0]   // odd size, pad byte
        var samples = WAVBytes()
        for _ in 0..<(4_800 * 2) { samples.u16(UInt16(bitPattern: 1000)) }
        let fixture = WAVBytes.pcm16(rate: 48_000, channels: 2, data: samples.bytes, extraChunks: list.bytes,
                                     dataSize: UInt32(samples.bytes.count + 400))
        let path = try writeFixture(fixture, named: "odd.wav", in: directory)
        try await withJackServer { server in
            let result = try runBuiltProduct(["play", "--server", server.name, "--drive", "timer",
                                              "--volume", "0.5", "--buffer-ms", "30", path])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("played 4800 frames"), "\(result.standardOutput)")
            #expect(result.standardError.contains("announces"), "a warning about the short data chunk: \(result.standardError)")
        }
    }

    @Test("an unknown --device id fails with one line that points to `wasapi-jack devices`")
    func unknownDevice() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 0.1),
                                    named: "tone.wav", in: directory)
        try await withJackServer { server in
            let play = try runBuiltProduct(["play", "--server", server.name, "--device", "no-such-endpoint", tone])
            expectCleanFailure(play, mentioning: ["no-such-endpoint", "wasapi-jack devices"])
            let record = try runBuiltProduct(["record", "--server", server.name, "--device", "no-such-endpoint",
                                              "--seconds", "0.1", directory + "/x.wav"])
            expectCleanFailure(record, mentioning: ["no-such-endpoint", "wasapi-jack devices"])
        }
    }

    @Test("exclusive mode plays the device format or reports the library's error, suggesting shared mode")
    func exclusiveMode() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let native = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 0.1),
                                      named: "native.wav", in: directory)
        let converted = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 44_100, channels: 2, seconds: 0.1),
                                         named: "converted.wav", in: directory)
        try await withJackServer { server in
            // Where the library offers exclusive mode, the device's own rate plays; otherwise its error is reported.
            let play = try runBuiltProduct(["play", "--server", server.name, "--mode", "exclusive", native])
            if play.status == 0 {
                #expect(play.standardOutput.contains("played 4800 frames"), "\(play.standardOutput)")
                #expect(play.standardOutput.contains("(exclusive, event-driven"), "\(play.standardOutput)")
            } else {
                expectCleanFailure(play, mentioning: ["exclusive mode failed", "AUDCLNT_E_", "--mode shared"])
            }
            // Exclusive mode never converts: another rate is refused, with the library's HRESULT.
            let refused = try runBuiltProduct(["play", "--server", server.name, "--mode", "exclusive", converted])
            expectCleanFailure(refused, mentioning: ["exclusive mode failed", "AUDCLNT_E_", "--mode shared"])
        }
    }
}

@Suite("wasapi-jack errors without a server", .timeLimit(.minutes(15)))
struct CLIErrorTests {
    @Test("no server: the message names the server tried and how to start one")
    func noServer() throws {
        let name = "wasapi-cli-absent-\(getpid())"
        let result = try runBuiltProduct(["record", "--server", name, "--seconds", "0.1", "/tmp/\(name).wav"])
        expectCleanFailure(result, mentioning: ["'\(name)'", "jackd -n \(name)", "--start-server"])
    }

    @Test("a missing file fails cleanly")
    func missingFile() throws {
        let result = try runBuiltProduct(["play", "/nonexistent/dir/tone.wav"])
        expectCleanFailure(result, mentioning: ["cannot read", "/nonexistent/dir/tone.wav"])
    }

    /// Broken files, and a word each error line must hold. `play` reads the
    /// file before it connects, so none of these needs a server.
    static let brokenFiles: [(name: String, bytes: [UInt8], words: [String])] = {
        let good = WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 0.01)
        var garbage = [UInt8](repeating: 0, count: 4096)
        var generator = SystemRandomNumberGenerator()
        for index in garbage.indices { garbage[index] = UInt8.random(in: 0...255, using: &generator) }
        var hugeFmt = good
        hugeFmt.replaceSubrange(16..<20, with: [0xFF, 0xFF, 0xFF, 0x7F])
        var noData = Array(good[0..<36])
        noData.replaceSubrange(4..<8, with: [28, 0, 0, 0])
        var extensibleShort = WAVBytes()
        extensibleShort.tag("RIFF"); extensibleShort.u32(40); extensibleShort.tag("WAVE")
        extensibleShort.tag("fmt "); extensibleShort.u32(18)
        extensibleShort.u16(0xFFFE); extensibleShort.u16(2); extensibleShort.u32(48_000); extensibleShort.u32(192_000)
        extensibleShort.u16(4); extensibleShort.u16(16); extensibleShort.u16(22)
        extensibleShort.tag("data"); extensibleShort.u32(0)
        return [
            ("empty.wav", [], ["empty"]),
            ("short.wav", Array("RIFF".utf8), ["not a WAV file"]),
            ("garbage.wav", garbage, ["not a WAV file", "RIFF"]),
            ("aiff.wav", Array("FORM\0\0\0\u{4}AIFF".utf8), ["not a WAV file", "FORM"]),
            ("header-only.wav", Array(good[0..<12]), ["truncated"]),
            ("cut-in-fmt.wav", Array(good[0..<30]), ["truncated", "fmt "]),
            ("huge-fmt.wav", hugeFmt, ["truncated", "fmt "]),
            ("no-data.wav", noData, ["data"]),
            ("bad-block-align.wav", WAVBytes.pcm16(rate: 48_000, channels: 2, data: [0, 0, 0, 0], blockAlign: 3), ["nBlockAlign"]),
            ("mp3.wav", WAVBytes.pcm16(rate: 48_000, channels: 2, data: [0, 0, 0, 0], formatTag: 0x55), ["unsupported format"]),
            ("short-extensible.wav", extensibleShort.bytes, ["format chunk", "cbSize"]),
        ]
    }()

    @Test("malformed and unsupported WAV files fail with one clear line, never a crash")
    func malformedFiles() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in Self.brokenFiles {
            let path = try writeFixture(file.bytes, named: file.name, in: directory)
            let result = try runBuiltProduct(["play", "--server", "wasapi-cli-never-reached", path])
            expectCleanFailure(result, mentioning: [file.name] + file.words)
        }
    }

    @Test("every truncation of a valid file fails cleanly or plays what it holds; no crash")
    func truncations() throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 0.001)
        // Lengths up to the data chunk header: every one is an error naming the file.
        for length in stride(from: 0, to: 44, by: 3) {
            let path = try writeFixture(Array(good[0..<length]), named: "cut-\(length).wav", in: directory)
            let result = try runBuiltProduct(["play", "--server", "wasapi-cli-never-reached", path])
            expectCleanFailure(result, mentioning: ["cut-\(length).wav"])
        }
    }

    @Test("invalid options are rejected before anything runs")
    func invalidOptions() throws {
        let record = try runBuiltProduct(["record", "--seconds", "-1", "/tmp/x.wav"])
        #expect(record.status != 0 && record.standardError.contains("--seconds"), "\(record.standardError)")
        let format = try runBuiltProduct(["record", "--format", "s12", "/tmp/x.wav"])
        #expect(format.status != 0 && format.standardError.contains("s12"), "\(format.standardError)")
        let volume = try runBuiltProduct(["play", "--volume", "2", "/tmp/x.wav"])
        #expect(volume.status != 0 && volume.standardError.contains("--volume"), "\(volume.standardError)")
    }
}
