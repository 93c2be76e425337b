import Foundation
import JackTestSupport
import SignalAnalysis
import Testing

/// Two JACK graphs linked by JackTrip (peer to peer over UDP, Debian's
/// jacktrip 1.7.0), both on this machine: the far side arrives on each server
/// as one client's terminal ports, which are endpoints like a sound card's.
/// `play` to the link's render endpoint on one server is heard by `record`
/// from the link's capture endpoint on the other. Between two machines the
/// client runs `jacktrip -c HOST` instead of 127.0.0.1 (docs/ARCHITECTURE.md).
@Suite("Two servers linked by JackTrip", .serialized, .timeLimit(.minutes(15)))
struct NetworkLinkTests {
    @Test("a tone played to the link on server A arrives on server B at 1 kHz and -6 dBFS; JACK's round trip A -> B -> A is measured with jack_iodelay")
    func toneAcrossTheLink() async throws {
        let jacktrip = "/usr/bin/jacktrip"
        try #require(FileManager.default.isExecutableFile(atPath: jacktrip), "jacktrip is not installed (scripts/install-deps.sh)")
        let directory = makeTemporaryDirectory(prefix: "wasapi-link")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 1000, amplitude: 0.5, rate: 48_000, channels: 2, seconds: 2),
                                    named: "tone.wav", in: directory)
        let output = directory + "/far.wav"
        // A port pair of our own, so that parallel runs on this machine never share one.
        let port = 20_000 + Int(getpid() % 20_000)
        // 1024-frame periods: a VM that stalls for 10 ms now and then made
        // 64-frame cycles xrun, and JackTrip lost packets in most of the
        // tone (one CI run measured -6.7 dBFS).
        let period = 1024
        func server(_ prefix: String) throws -> JackServerProcess {
            var configuration = JackServerProcess.Configuration(name: JackServerProcess.Configuration.uniqueName(prefix: prefix))
            configuration.period = period
            return try JackServerProcess.start(configuration)
        }
        try await withJackLibrary {
            let a = try server("wasapi-link-a")
            defer { a.stop() }
            let b = try server("wasapi-link-b")
            defer { b.stop() }
            // jacktrip now and then fails to open its JACK client right after a
            // server started ("Cannot open link client"): each side gets three tries.
            let near = try await startJackTrip(["-s", "-n", "2", "-J", "link", "-D", "-B", "\(port)", "-P", "\(port + 1)"],
                                               on: a.name)
            defer { _ = near.stop() }
            let far = try await startJackTrip(["-c", "127.0.0.1", "-n", "2", "-J", "link", "-D",
                                               "-B", "\(port + 1)", "-P", "\(port)"], on: b.name)
            defer { _ = far.stop() }

            // The link is an endpoint pair on each server.
            struct Row: Decodable { var id: String; var flow: String; var ports: [String]; var isVirtual: Bool }
            func endpoints(_ server: String) throws -> [Row] {
                let listed = try runBuiltProduct(["devices", "--json", "--server", server])
                #expect(listed.status == 0, "\(listed.standardError)")
                return try JSONDecoder().decode([Row].self, from: Data(listed.standardOutput.utf8))
            }
            let toFar = try #require(try endpoints(a.name).first { $0.ports == ["link:send_1", "link:send_2"] })
            let fromNear = try #require(try endpoints(b.name).first { $0.ports == ["link:receive_1", "link:receive_2"] })
            #expect(toFar.flow == "render" && !toFar.isVirtual && fromNear.flow == "capture" && !fromNear.isVirtual)

            // play on A to the link, record on B from the link.
            let recorder = try await startRecorder(["--device", fromNear.id, output], on: b.name)
            let played = try runBuiltProduct(["play", "--device", toFar.id, tone, "--server", a.name])
            #expect(played.status == 0, "\(played.standardError)")
            let recorded = try stopRecorder(recorder)
            #expect(recorded.status == 130, "status \(recorded.status): \(recorded.standardError)")
            let wav = try WrittenWAV(path: output)
            let left = stride(from: 0, to: wav.samples.count, by: 2).map { wav.samples[$0] }
            let steady = SignalAnalysis.steadyPart(left, skip: 4_800, count: 48_000)
            try #require(steady.count == 48_000, "the tone is shorter than expected in the far recording")
            #expect(abs(SignalAnalysis.frequency(steady, rate: 48_000) - 1000) < 1)
            // JackTrip sends 16-bit samples: the level within 0.1 dB of -6.02.
            let level = 20 * log10(max(SignalAnalysis.sineAmplitude(steady), 1e-9))
            #expect(abs(level - 20 * log10(0.5)) < 0.1, "level \(level) dBFS")

            // The link's own latency: B loops what it receives back; jack_iodelay on A measures the round trip.
            #expect(try runProgram("/usr/bin/jack_connect", ["-s", b.name, "link:receive_1", "link:send_1"]).status == 0)
            let delay = try RunningProcess(executable: "/usr/bin/stdbuf", arguments: ["-oL", "/usr/bin/jack_iodelay"],
                                           environment: ["JACK_DEFAULT_SERVER": a.name])
            defer { _ = delay.stop() }
            try await waitForPorts(on: a.name, timeoutSeconds: 20) { $0 == "jack_delay:in" }
            #expect(try runProgram("/usr/bin/jack_connect", ["-s", a.name, "jack_delay:out", "link:send_1"]).status == 0)
            #expect(try runProgram("/usr/bin/jack_connect", ["-s", a.name, "link:receive_1", "jack_delay:in"]).status == 0)
            #expect(delay.waitForOutput(timeoutSeconds: 20) { $0.contains("total roundtrip latency") }, "\(delay.standardOutput)")
            let frames = delay.standardOutput.split(separator: "\n").last { $0.contains("total roundtrip latency") }
                .flatMap { Double($0.split(separator: " ").first ?? "") }
            let roundTrip = try #require(frames, "\(delay.standardOutput)")
            // At least the two graphs' periods; well under a second.
            #expect(roundTrip >= Double(2 * period) && roundTrip < 48_000, "\(roundTrip) frames")
            print("JackTrip round trip A -> B -> A at \(period)-frame periods, 48 kHz: \(roundTrip) frames (\(roundTrip / 48) ms)")
        }
    }
}

/// Starts `jacktrip` with `arguments` on `server` and returns once its ports
/// are there; up to three tries, each bounded (20 s).
private func startJackTrip(_ arguments: [String], on server: String) async throws -> RunningProcess {
    var failures: [String] = []
    for _ in 1...3 {
        let process = try RunningProcess(executable: "/usr/bin/jacktrip", arguments: arguments,
                                         environment: ["JACK_DEFAULT_SERVER": server])
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline {
            let ports = try runProgram("/usr/bin/jack_lsp", ["-s", server], timeoutSeconds: 10).standardOutput
            if ports.split(separator: "\n").contains("link:receive_2") { return process }
            try await pause(for: .milliseconds(50))
        }
        _ = process.stop()
        failures.append(process.standardOutput + process.standardError)
    }
    throw CommandTimeout(what: "jacktrip's ports on '\(server)' (three tries): \(failures.joined(separator: "\n---\n"))",
                         seconds: 60)
}
