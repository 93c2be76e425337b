import AudioGraph
import Foundation
@testable import JackEngine
import JackTestSupport
import Testing

/// jackd2's libjack walks a client's port list for every latency round, on
/// its notification thread and with no lock, while `jack_port_unregister`
/// erases from that list (upstream jack2 issue 216; seen as SIGSEGV in
/// `JackClient::HandleLatencyCallback` in a test that released 200 streams).
/// ``LatencyRoundFence`` lets the round of an earlier change finish first.
@Suite("Port removal waits out latency rounds", .timeLimit(.minutes(15)))
struct LatencyRoundFenceTests {
    @Test("a port is unregistered only after the latency round of the change just before it was answered (jackd2)")
    func removalWaitsForTheRound() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "fence", serverName: server.name)
            defer { client.close() }
            try client.activate()
            _ = try client.registerPort("kept", direction: .output)
            let trials = 10
            var answeredFirst = 0
            for trial in 0..<trials {
                let port = try client.registerPort("removed-\(trial)", direction: .output)
                try await pause(for: .milliseconds(50))  // the registration's round is over
                let before = client.latencies.notificationsAnswered.load(ordering: .acquiring)
                // A graph change: the server runs its latency round (a
                // capture and a playback notification to each client) after
                // the next cycle begins, a millisecond or so from now.
                if trial.isMultiple(of: 2) {
                    try client.connect("fence:kept", to: "system:playback_1")
                } else {
                    try client.disconnect("fence:kept", from: "system:playback_1")
                }
                client.unregister(port)
                // Without the fence the unregister is usually over before
                // that round.
                if client.latencies.notificationsAnswered.load(ordering: .acquiring) >= before + 2 { answeredFirst += 1 }
            }
            #expect(answeredFirst == trials, "the round came before the removal in \(answeredFirst) of \(trials) trials")
        }
    }
}
