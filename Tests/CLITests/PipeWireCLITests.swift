import Foundation
import JackTestSupport
import Testing

// The built `wasapi-jack` run through pipewire-jack's libjack against a
// private PipeWire daemon (``withPipeWireServer``; Debian 12: 0.3.65). The
// test process itself links jackd2's libjack, so only the child processes
// reach PipeWire. Every run is bounded: a command that outlives its time is
// stopped and the test fails naming it.

@Suite("wasapi-jack through pipewire-jack", .serialized)
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
}
