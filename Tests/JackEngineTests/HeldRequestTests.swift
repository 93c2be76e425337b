import AudioGraph
import Foundation
@testable import JackEngine
import JackTestSupport
import Testing

/// jackd2 answers requests on one server thread that can hold them for
/// seconds (issue 14: the chaos test saw Initialize take 9.8 s).
/// ``ClientConnection`` waits for a request at most its limit; a stopped
/// jackd (SIGSTOP) holds every request for as long as the test likes.
@Suite("Requests the server holds are waited for a bounded time", .timeLimit(.minutes(15)))
struct HeldRequestTests {
    @Test("behind a stopped jackd: a request gives up at its limit and the next at once, local reads answer; once jackd runs again the late port is removed and requests work (jackd2)")
    func stoppedServerHoldsRequests() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "held", serverName: server.name)
            defer { client.close() }
            try client.activate()
            let output = try client.registerPort("out", direction: .output)
            let rate = client.sampleRate
            let pid = server.processID
            try #require(pid > 0)
            let stopped = StoppedProcess(pid)

            let start = ContinuousClock.now
            #expect(throws: EngineError.requestsHeld(clientName: client.name)) {
                try client.registerPort("late", direction: .output)
            }
            let waited = ContinuousClock.now - start
            #expect(waited >= .milliseconds(900) && waited < .milliseconds(1_900), "waited \(waited)")

            let next = ContinuousClock.now
            #expect(throws: EngineError.requestsHeld(clientName: client.name)) {
                try client.connect(output.name, to: "system:playback_1")
            }
            #expect(ContinuousClock.now - next < .milliseconds(300), "a request behind a held one must not queue")

            // Reads of libjack's own copy of the graph do not wait for requests.
            let reads = ContinuousClock.now
            #expect(client.sampleRate == rate)
            #expect(client.port(named: output.name) != nil)
            #expect(ContinuousClock.now - reads < .milliseconds(300))

            stopped.resume()
            // The held registration answers now; the lane then unregisters
            // the port nobody took, before any later request.
            var connected = false
            for _ in 0..<100 where !connected {
                connected = (try? client.connect(output.name, to: "system:playback_1")) != nil
                if !connected { try await pause(for: .milliseconds(100)) }
            }
            #expect(connected, "requests did not work again once the server ran")
            #expect(client.port(named: "\(client.name):late") == nil, "the port registered after its caller gave up is still there")
            #expect(client.connections(ofPort: output.name) == ["system:playback_1"])
        }
    }

    @Test("inside an API call's deadline, a request the server holds gives up when the deadline runs out (jackd2)")
    func heldRequestEndsWithTheCall() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "held-deadline", serverName: server.name)
            defer { client.close() }
            let pid = server.processID
            try #require(pid > 0)
            let stopped = StoppedProcess(pid)
            let start = ContinuousClock.now
            let refused = CallDeadline.within(300_000_000) { () -> Bool in
                do throws(EngineError) {
                    _ = try client.registerPort("late", direction: .output)
                    return false
                } catch {
                    return error == .requestsHeld(clientName: client.name)
                }
            }
            let waited = ContinuousClock.now - start
            stopped.resume()
            #expect(refused)
            #expect(waited >= .milliseconds(250) && waited < .milliseconds(800), "waited \(waited) in a call of 300 ms")
        }
    }

    @Test("behind a stopped jackd: closing the process's last client waits at most its bound, opens fail at once until the close returns, and once jackd runs again the close completes (jackd2)")
    func stoppedServerHoldsTheClose() async throws {
        try await withJackServer { server in
            try #require(JackClient.serverInUse == nil)
            let client = try JackClient(name: "held-close", serverName: server.name)
            try client.activate()
            let output = try client.registerPort("out", direction: .output)
            let pid = server.processID
            try #require(pid > 0)
            // Without the bound the close would wait for the safety resume (8 s).
            let stopped = StoppedProcess(pid)

            let start = ContinuousClock.now
            client.close()
            let waited = ContinuousClock.now - start
            #expect(waited < .seconds(2), "the close waited \(waited)")
            #expect(JackClient.isHeldInMetadataDatabase, "the close left running is not counted")
            let quick = ContinuousClock.now
            #expect(throws: EngineError.metadataHeld(serverName: server.name)) {
                _ = try JackClient(name: "behind-the-close", serverName: server.name)
            }
            #expect(ContinuousClock.now - quick < .milliseconds(500), "an open behind the held close waited")

            stopped.resume()
            for _ in 0..<500 where JackClient.isHeldInMetadataDatabase { try await pause(for: .milliseconds(10)) }
            #expect(!JackClient.isHeldInMetadataDatabase, "the close never returned once the server ran")
            let later = try JackClient(name: "after-the-close", serverName: server.name)
            defer { later.close() }
            #expect(later.port(named: output.name) == nil, "the closed client's port is still there")
        }
    }
}
