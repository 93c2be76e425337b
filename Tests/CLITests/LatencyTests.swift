import Foundation
import JackTestSupport
import Testing

// Issue 6's referee: JACK's own `jack_iodelay` measures the round trip of a
// loop it drives. Wired to itself it measures JACK alone (one period); wired
// through `wasapi-jack monitor` it measures what each monitor mode adds.

/// Runs `jack_iodelay` on `server`, lets `wire` connect its ports into a loop,
/// and returns the round trip it settles on, in frames: the last four
/// readings must agree within half a frame.
func iodelayRoundTrip(server: String, wire: () throws -> Void) throws -> Double? {
    let environment = ["JACK_DEFAULT_SERVER": server]
    // Line-buffered, so each reading reaches the pipe as it is printed.
    let iodelay = try RunningProcess(executable: "/usr/bin/stdbuf", arguments: ["-oL", "jack_iodelay"],
                                     environment: environment)
    defer { iodelay.stop() }
    guard iodelay.waitForOutput(until: { $0.contains("Signal below threshold") || $0.contains("latency") }) else {
        return nil
    }
    try wire()
    func readings(_ output: String) -> [Double] {
        output.split(separator: "\n").filter { $0.contains("total roundtrip latency") }
            .compactMap { Double($0.split(separator: " ").first ?? "") }
    }
    var settled: Double?
    _ = iodelay.waitForOutput(timeoutSeconds: 30) { output in
        let last = readings(output).suffix(4)
        guard last.count == 4, let low = last.min(), let high = last.max(), high - low < 0.5 else { return false }
        settled = last.last
        return true
    }
    return settled
}

/// `jack_connect source destination` on `server`.
func jackConnect(_ source: String, _ destination: String, server: String) throws {
    let result = try runProgram("/usr/bin/jack_connect", [source, destination],
                                environment: ["JACK_DEFAULT_SERVER": server], timeoutSeconds: 20)
    guard result.status == 0 else {
        throw CLITestFailure("jack_connect \(source) \(destination) failed: \(result.standardError)")
    }
}

struct CLITestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("Round trips measured by jack_iodelay", .serialized, .timeLimit(.minutes(15)))
struct LatencyRefereeTests {
    @Test("callback mode adds nothing to JACK's own 64 frames; exclusive and shared add at most one period")
    func monitorModesAgainstIodelay() async throws {
        try await withJackServer { server in
            let alone = try iodelayRoundTrip(server: server.name) {
                try jackConnect("jack_delay:out", "jack_delay:in", server: server.name)
            }
            let baseline = try #require(alone, "jack_iodelay wired to itself never settled")
            #expect(abs(baseline - 64) < 0.5, "JACK alone: \(baseline) frames at a 64-frame period")

            for (mode, allowance) in [("callback", 0.0), ("exclusive", 64.0), ("shared", 64.0)] {
                let monitor = try RunningProcess(arguments: ["monitor", "--server", server.name, "--mode", mode,
                                                             "--no-connect", "--seconds", "60"])
                defer { monitor.stop() }
                #expect(monitor.waitForOutput { $0.contains("output ports:") }, "\(monitor.standardError)")
                let ports = portNames(in: monitor.standardOutput)
                let inputs = try #require(ports["input"]?.first), outputs = try #require(ports["output"]?.first)
                let measured = try iodelayRoundTrip(server: server.name) {
                    try jackConnect("jack_delay:out", inputs, server: server.name)
                    try jackConnect(outputs, "jack_delay:in", server: server.name)
                }
                let roundTrip = try #require(measured, "\(mode): jack_iodelay never settled; monitor said: \(monitor.standardOutput) \(monitor.standardError)")
                #expect(roundTrip > baseline - 0.5, "\(mode): \(roundTrip) frames, below JACK's own \(baseline)")
                #expect(roundTrip < baseline + allowance + 0.5,
                        "\(mode): \(roundTrip) frames, more than \(baseline) + \(allowance)")
                if mode == "callback" {
                    #expect(abs(roundTrip - baseline) < 0.5, "callback: \(roundTrip) frames vs \(baseline)")
                }
            }
        }
    }

    @Test("latency --json: the probe sees 64 frames alone, +0 through callback, +64 through exclusive and shared")
    func latencyCommand() async throws {
        try await withJackServer { server in
            struct Report: Decodable {
                var jackRoundTripFrames: Int, monitorRoundTripFrames: Int, addedFrames: Int
                var periodFrames: Int, measurements: [Int]
            }
            for (mode, added) in [("callback", 0), ("exclusive", 64), ("shared", 64)] {
                let result = try runBuiltProduct(["latency", "--server", server.name, "--mode", mode, "--json"])
                #expect(result.status == 0, "\(mode): \(result.standardError)")
                let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
                #expect(report.periodFrames == 64)
                #expect(report.jackRoundTripFrames == 64, "\(mode): \(result.standardOutput)")
                #expect(report.addedFrames == added, "\(mode): \(result.standardOutput)")
                #expect(report.measurements.allSatisfy { $0 == report.monitorRoundTripFrames },
                        "\(mode): round trips vary: \(report.measurements)")
            }
        }
    }

    @Test("monitor with an unknown --from id fails with one line that points to `wasapi-jack devices`")
    func monitorUnknownDevice() async throws {
        try await withJackServer { server in
            let result = try runBuiltProduct(["monitor", "--server", server.name, "--from", "no-such-endpoint",
                                              "--seconds", "1"])
            expectCleanFailure(result, mentioning: ["no-such-endpoint", "wasapi-jack devices"])
        }
    }
}

/// "input ports: a b" / "output ports: c d" lines, by their first word.
func portNames(in output: String) -> [String: [String]] {
    var names: [String: [String]] = [:]
    for line in output.split(separator: "\n") where line.contains(" ports: ") {
        let parts = line.split(separator: " ").map(String.init)
        names[parts[0]] = Array(parts.dropFirst(2))
    }
    return names
}
