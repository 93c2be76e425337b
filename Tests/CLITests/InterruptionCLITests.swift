import Foundation
import Glibc
import JackTestSupport
import Testing

/// `play` stopped by SIGTERM or SIGINT in the middle of a long tone: it
/// releases its stream and closes its JACK client, then exits with
/// 128 + the signal (143, 130) at once.
@Suite("wasapi-jack interrupted by a signal", .timeLimit(.minutes(15)))
struct InterruptionCLITests {
    @Test("SIGTERM (143) or SIGINT (130) mid-play: that status within 2 s, the client gone from jack_lsp", arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130))])
    func playInterrupted(signalNumber: Int32, expected: Int32) async throws {
        let directory = makeTemporaryDirectory(prefix: "wasapi-signal")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tone = try writeFixture(WAVBytes.tone(frequency: 440, amplitude: 0.25, rate: 48_000, channels: 2, seconds: 30),
                                    named: "tone.wav", in: directory)
        try await withJackServer { server in
            let play = try RunningProcess(arguments: ["play", "--server", server.name, "--mode", "shared",
                                                      "--drive", "event", tone])
            try await waitForPorts(on: server.name, timeoutSeconds: 20) { $0.hasPrefix("wasapi-jack:") }
            let sentAt = ContinuousClock.now
            kill(play.processIdentifier, signalNumber)
            let status = try play.waitForExit(timeoutSeconds: 10)
            let took = ContinuousClock.now - sentAt
            #expect(status == expected, "status \(status); stderr: \(play.standardError)")
            #expect(took < .seconds(2), "play exited \(took) after the signal")
            #expect(!play.standardError.contains("error"), "no error line: \(play.standardError)")
            let listing = try runProgram("/usr/bin/jack_lsp", ["-s", server.name], timeoutSeconds: 10).standardOutput
            #expect(!listing.contains("wasapi-jack:"), "the client's ports are gone: \(listing)")
        }
    }
}
