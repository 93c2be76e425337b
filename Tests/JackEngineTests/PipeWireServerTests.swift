import Foundation
import JackTestSupport
import Testing

// Issue 15: a private PipeWire daemon as a second JACK server. The test
// process links jackd2's libjack, so everything here reaches PipeWire through
// child processes run with `server.environment` (as `pw-jack` would).

private let systemPorts = ["system:capture_1", "system:capture_2", "system:playback_1", "system:playback_2"]

@Suite("Private PipeWire fixture", .timeLimit(.minutes(15)))
struct PipeWireServerTests {
    @Test("jack_lsp through the server's environment lists system:playback_1/2 and system:capture_1/2")
    func listsSystemPorts() async throws {
        try await withPipeWireServer { server in
            let ports = try server.jackPorts()
            #expect(Set(systemPorts).isSubset(of: ports), "jack_lsp listed \(ports)")
            #expect(server.environment["PIPEWIRE_REMOTE"] == server.name)
            #expect(server.environment["LD_LIBRARY_PATH"]?.hasPrefix(PipeWireServerProcess.pipeWireJackLibraryDirectory) == true)
            var info = stat()
            #expect(stat(server.directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
            // The socket carries the server's name, in the server's own directory.
            #expect(FileManager.default.fileExists(atPath: server.directory + "/" + server.name))
        }
    }

    @Test("JACK's tools see a 64-frame period at 48 kHz, and pipewire-jack's libjack is the one they use")
    func periodAndRate() async throws {
        try await withPipeWireServer { server in
            let period = try server.run("jack_bufsize", timeoutSeconds: 5)
            #expect(period.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "64", "\(period)")
            let rate = try server.run("jack_samplerate", timeoutSeconds: 5)
            #expect(rate.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "48000", "\(rate)")
            // Without the environment the same tool finds no such server (jackd2's libjack).
            let plain = try runProgram("/usr/bin/jack_lsp", ["-s", server.name], environment: noServerStart, timeoutSeconds: 5)
            #expect(plain.status != 0 || !plain.standardOutput.contains("system:playback_1"), "\(plain)")
        }
    }

    @Test("two servers run at once under different names, each with its own ports and directory")
    func twoServers() async throws {
        try await withPipeWireServer { first in
            try await withPipeWireServer { second in
                #expect(first.name != second.name)
                #expect(first.directory != second.directory)
                #expect(first.processIdentifier != second.processIdentifier)
                #expect(Set(systemPorts).isSubset(of: try first.jackPorts()))
                #expect(Set(systemPorts).isSubset(of: try second.jackPorts()))
                // A client of one server is seen by that server alone.
                let probe = try RunningProcess(executable: "/usr/bin/jack_iodelay", arguments: [],
                                               environment: first.environment)
                defer { probe.stop() }
                let appeared = poll(seconds: 10) { (try? first.jackPorts().contains("jack_delay:in")) == true }
                #expect(appeared, "jack_iodelay never registered on \(first.name): \(probe.standardError)")
                #expect(try second.jackPorts().contains("jack_delay:in") == false)
            }
            // The second one stopped; the first still answers.
            #expect(Set(systemPorts).isSubset(of: try first.jackPorts()))
        }
    }

    @Test("stop ends the pipewire process and removes its directory")
    func stopCleansUp() async throws {
        var configuration = PipeWireServerProcess.Configuration(name: PipeWireServerProcess.Configuration.uniqueName())
        configuration.quantum = 64
        let server = try PipeWireServerProcess.start(configuration)
        let pid = server.processIdentifier, directory = server.directory
        #expect(pid > 0 && kill(pid, 0) == 0)
        server.stop()
        #expect(server.hasExited)
        #expect(poll(seconds: 5) { kill(pid, 0) != 0 && errno == ESRCH }, "pipewire \(pid) still exists")
        #expect(!FileManager.default.fileExists(atPath: directory))
        server.stop()   // idempotent
        let after = try runProgram("/usr/bin/jack_lsp", [], environment: server.environment.merging(noServerStart) { $1 },
                                   timeoutSeconds: 5)
        #expect(!after.standardOutput.contains("system:playback_1"), "\(after)")
    }

    @Test("wasapi-jack devices --json, run through the server's environment, lists a render and a capture endpoint")
    func cliDevices() async throws {
        let tool = builtProductPath("wasapi-jack")
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "\(tool) is not built; `swift build` (or `swift test`, which builds every product) first")
        try await withPipeWireServer { server in
            let result = try server.run(tool, ["devices", "--json", "--server", server.name], timeoutSeconds: 20)
            #expect(!result.timedOut && result.status == 0, "\(result)")
            struct Row: Decodable { var id: String; var flow: String; var channels: Int; var sampleRate: Int }
            let rows = try JSONDecoder().decode([Row].self, from: Data(result.standardOutput.utf8))
            #expect(Set(rows.map(\.flow)) == ["render", "capture"], "\(rows)")
            #expect(rows.allSatisfy { $0.channels == 2 && $0.sampleRate == 48_000 }, "\(rows)")
        }
    }
}

/// Polls `condition` every 50 ms for at most `seconds`.
private func poll(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// jackd2's libjack must not start a jackd of the name a tool asks for.
private let noServerStart = ["JACK_NO_START_SERVER": "1"]
