import Foundation
import JackTestSupport
import Testing

// The built `wasapi-jack` run through pipewire-jack's libjack against a
// private PipeWire daemon (``withPipeWireServer``; Debian 12: 0.3.65). The
// test process itself links jackd2's libjack, so only the child processes
// reach PipeWire. Every run is bounded: a command that outlives its time is
// stopped and the test fails naming it.

@Suite("wasapi-jack through pipewire-jack", .serialized, .timeLimit(.minutes(15)))
struct PipeWireCLITests {
    /// Runs the tool with `arguments` plus `--server NAME` through `server`,
    /// failing (and naming the command) when it hangs past `timeoutSeconds`.
    private func run(_ arguments: [String], on server: PipeWireServerProcess,
                     timeoutSeconds: Double = 30) throws -> PipeWireServerProcess.ProgramResult {
        let tool = builtProductPath("wasapi-jack")
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "\(tool) is not built; `swift build` (or `swift test`, which builds every product) first")
        let command = (["wasapi-jack"] + arguments + ["--server", server.name]).joined(separator: " ")
        let result = try server.run(tool, arguments + ["--server", server.name], timeoutSeconds: timeoutSeconds)
        #expect(!result.timedOut, "`\(command)` hung: stopped after \(timeoutSeconds) s; stderr: \(result.standardError)")
        return result
    }

    @Test("devices --json lists a render and a capture endpoint and reports pipewire-jack")
    func devices() async throws {
        try await withPipeWireServer { server in
            let result = try run(["devices", "--json"], on: server)
            #expect(result.status == 0, "\(result)")
            struct Row: Decodable { var flow: String; var channels: Int; var sampleRate: Int; var period: Int
                                    var implementation: String }
            let rows = try JSONDecoder().decode([Row].self, from: Data(result.standardOutput.utf8))
            #expect(Set(rows.map(\.flow)) == ["render", "capture"], "\(rows)")
            #expect(rows.allSatisfy { $0.channels == 2 && $0.sampleRate == 48_000 && $0.period == 64 }, "\(rows)")
            #expect(rows.allSatisfy { $0.implementation.hasPrefix("pipewire-jack ") }, "\(rows)")

            let text = try run(["devices"], on: server)
            #expect(text.status == 0 && text.standardOutput.contains("(pipewire-jack "), "\(text)")
        }
    }

    @Test("monitor --mode M --seconds 1 exits 0 in every mode (pipewire-jack 0.3.65 hung in the latency callback)",
          arguments: ["shared", "exclusive", "callback"])
    func monitor(mode: String) async throws {
        try await withPipeWireServer { server in
            // Three runs per mode: the hang was a race that took some runs to show.
            for attempt in 1...3 {
                let result = try run(["monitor", "--mode", mode, "--seconds", "1"], on: server, timeoutSeconds: 20)
                #expect(result.status == 0, "monitor --mode \(mode), run \(attempt): \(result)")
                #expect(result.standardOutput.contains("output ports:"), "\(result)")
            }
        }
    }

    @Test("demo plays its tone through PipeWire and passes")
    func demo() async throws {
        try await withPipeWireServer { server in
            let result = try run(["demo"], on: server, timeoutSeconds: 40)
            #expect(result.status == 0, "\(result)")
            #expect(result.standardOutput.contains("PASS"), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("(pipewire-jack "), "\(result.standardOutput)")
        }
    }

    @Test("latency --mode callback --json: JACK alone 64 frames at quantum 64, as on jackd2; the monitor adds nothing")
    func latency() async throws {
        try await withPipeWireServer { server in
            let result = try run(["latency", "--mode", "callback", "--json"], on: server, timeoutSeconds: 60)
            #expect(result.status == 0, "\(result)")
            struct Report: Decodable {
                var jackRoundTripFrames: Int, monitorRoundTripFrames: Int, addedFrames: Int
                var periodFrames: Int, measurements: [Int]
            }
            let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
            #expect(report.periodFrames == 64, "\(result.standardOutput)")
            // jackd2 measures 64 and +0 (LatencyRefereeTests); within one period of that.
            #expect(abs(report.jackRoundTripFrames - 64) < 64, "\(result.standardOutput)")
            #expect(abs(report.addedFrames) < 64, "\(result.standardOutput)")
            #expect(report.measurements.count == 5, "\(result.standardOutput)")
        }
    }

    @Test("sessions, volume 0.25 and mute across processes: the owner's output drops by 12.04 dB, then to silence (pipewire-jack 0.3.65 gave 'no audio sessions')")
    func sessionsAcrossProcesses() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-pw-sessions")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 8),
                                    named: "tone.wav", in: directory)
        let output = directory + "/out.wav"
        try await withPipeWireServer { server in
            let tool = builtProductPath("wasapi-jack")
            let recorder = try RunningProcess(executable: tool, arguments: ["record", "--loopback", "--seconds", "5", output,
                                                                            "--server", server.name],
                                              environment: server.environment)
            defer { _ = recorder.stop() }
            try await waitUntil(seconds: 20) { ((try? server.jackPorts()) ?? []).contains { $0.contains(".in_") } }
            let player = try RunningProcess(executable: tool, arguments: ["play", tone, "--session-name", "PW tone",
                                                                          "--server", server.name],
                                            environment: server.environment)
            defer { _ = player.stop() }
            // B finds A's session by its display name...
            struct Row: Decodable { var id: String; var displayName: String }
            var rows: [Row] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while !rows.contains(where: { $0.displayName == "PW tone" }) && ContinuousClock.now < deadline {
                let listed = try run(["sessions", "--json"], on: server)
                rows = (try? JSONDecoder().decode([Row].self, from: Data(listed.standardOutput.utf8))) ?? []
                if rows.isEmpty { try await pause(for: .milliseconds(100)) }
            }
            let session = try #require(rows.first { $0.displayName == "PW tone" }, "A's session is listed: \(rows)")
            // ...lets it play at full level for a while, then sets 0.25, then mutes it.
            try await pause(for: .seconds(1))
            let volume = try run(["volume", session.id, "0.25"], on: server)
            #expect(volume.status == 0, "\(volume)")
            try await pause(for: .seconds(1))
            let mute = try run(["mute", session.id, "on"], on: server)
            #expect(mute.status == 0, "\(mute)")
            #expect(try recorder.waitForExit(timeoutSeconds: 20) == 0, "record: \(recorder.standardError)")
            let recording = try WrittenWAV(path: output)
            let left = stride(from: 0, to: recording.samples.count, by: 2).map { recording.samples[$0] }
            // Peaks in 100 ms windows: full (0.5), a quarter of it (0.125: -12.04 dB), and silence, in that order.
            let peaks = stride(from: 0, to: left.count - 4_800, by: 4_800).map { left[$0..<$0 + 4_800].map(abs).max() ?? 0 }
            let full = try #require(peaks.firstIndex { abs($0 - 0.5) < 0.01 }, "full level heard: \(peaks)")
            let quarter = try #require(peaks.firstIndex { abs($0 - 0.125) < 0.002 }, "0.25 heard: \(peaks)")
            let silent = try #require(peaks.lastIndex { $0 == 0 }, "mute heard: \(peaks)")
            #expect(full < quarter && quarter < silent, "\(peaks)")
            #expect(abs(20 * log10(Double(peaks[quarter]) / 0.5) + 12.04) < 0.1, "level \(peaks[quarter])")
        }
    }
}
