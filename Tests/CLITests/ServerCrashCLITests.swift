import Foundation
import JackTestSupport
import Testing

/// `play` when its JACK server dies under it: it stops at once with one line
/// that names the stopped server (device invalidated) and a non-zero status,
/// not after a 2 s event timeout.
@Suite("wasapi-jack when the server is killed", .timeLimit(.minutes(15)))
struct ServerCrashCLITests {
    /// jackd keeps a killed server's registry entry until a server of the
    /// same name starts, so the killed server always has this name and is
    /// started (and stopped cleanly) again afterwards.
    static let serverName = "wasapi-crash-cli"

    @Test("jackd killed (SIGKILL) under `play --mode shared --drive event`: exit 1 within 2 s, naming the server and DEVICE_INVALIDATED")
    func playSeesServerDeath() async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 440, amplitude: 0.25, rate: 48_000, channels: 2, seconds: 20),
                                    named: "tone.wav", in: directory)
        try await withJackLibrary {
            let server = try JackServerProcess.start(.init(name: Self.serverName))
            defer {
                // Reclaim the killed server's registry entry, then stop cleanly.
                (try? JackServerProcess.start(.init(name: Self.serverName)))?.stop()
            }
            let play = try RunningProcess(arguments: ["play", "--server", Self.serverName, "--mode", "shared",
                                                      "--drive", "event", tone])
            // Playing once its stream's ports are in the graph.
            try await waitForPorts(on: Self.serverName, timeoutSeconds: 20) { $0.hasPrefix("wasapi-jack:") }
            let killedAt = ContinuousClock.now
            server.crash()
            let status = try play.waitForExit(timeoutSeconds: 10)
            let took = ContinuousClock.now - killedAt
            #expect(status == 1, "status \(status); stderr: \(play.standardError)")
            #expect(play.standardError.contains(Self.serverName), "the message names the server: \(play.standardError)")
            #expect(play.standardError.contains("AUDCLNT_E_DEVICE_INVALIDATED"), "\(play.standardError)")
            #expect(!play.standardError.contains("no buffer event"), "not the event timeout: \(play.standardError)")
            #expect(took < .seconds(2), "play noticed in \(took)")
        }
    }
}
