import AudioGraph
import Foundation
@testable import JackEngine
import JackTestSupport
import Synchronization
import Testing

/// jackd2's `jack_client_close` cancels the notification thread
/// asynchronously, wherever it is; ``NotificationGate`` keeps it out of this
/// package's callbacks first (issue 14: a heap corruption in the chaos test).
@Suite("Closing a client shuts its notification callbacks out first", .timeLimit(.minutes(15)))
struct NotificationGateTests {
    @Test("a shut gate waits for the callback inside, then turns the next one away")
    func shutWaitsForTheCallbackInside() throws {
        let gate = NotificationGate()
        #expect(gate.enter())
        let shutReturned = Atomic(false)
        let closer = Thread {
            _ = gate.shut(waitingAtMost: 5_000_000_000)
            shutReturned.store(true, ordering: .releasing)
        }
        closer.start()
        usleep(100_000)
        let returnedEarly = shutReturned.load(ordering: .acquiring)
        #expect(!returnedEarly, "shut returned while a callback was inside")
        gate.leave()
        for _ in 0..<500 where !shutReturned.load(ordering: .acquiring) { usleep(10_000) }
        let returned = shutReturned.load(ordering: .acquiring)
        #expect(returned)
        #expect(!gate.enter(), "a callback arriving after the shut must be turned away")
    }

    @Test("a callback stuck inside holds the close back only for the bound")
    func shutIsBounded() {
        let gate = NotificationGate()
        #expect(gate.enter())
        let start = ContinuousClock.now
        #expect(!gate.shut(waitingAtMost: 50_000_000))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }

    @Test("a client's close waits for a notification callback inside (jackd2)")
    func closeWaitsForACallbackInside() async throws {
        try await withJackServer { server in
            let client = try JackClient(name: "closing", serverName: server.name)
            // This thread stands in for JACK's notification thread inside a callback.
            #expect(client.notifications.gate.enter())
            let closed = Atomic(false)
            let closer = Thread {
                client.close()
                closed.store(true, ordering: .releasing)
            }
            closer.start()
            usleep(200_000)
            let closedEarly = closed.load(ordering: .acquiring)
            #expect(!closedEarly, "the close went ahead with a callback inside")
            client.notifications.gate.leave()
            for _ in 0..<500 where !closed.load(ordering: .acquiring) { usleep(10_000) }
            let closedAfter = closed.load(ordering: .acquiring)
            #expect(closedAfter)
        }
    }

    @Test("once the gate is shut, JACK's notifications no longer reach the client's callbacks (jackd2)")
    func shutGateTurnsNotificationsAway() async throws {
        try await withJackServer { server in
            let watcher = try JackClient(name: "watcher", serverName: server.name)
            defer { watcher.close() }
            try watcher.activate()
            let other = try JackClient(name: "other", serverName: server.name)
            defer { other.close() }
            try other.activate()
            func registrationArrives() throws -> Bool {
                _ = watcher.graphChanges.take()
                other.unregister(try other.registerPort("probe", direction: .output))
                let deadline = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < deadline {
                    if watcher.graphChanges.take().contains(where: { if case .port = $0 { true } else { false } }) { return true }
                    usleep(10_000)
                }
                return false
            }
            #expect(try registrationArrives(), "before the shut, a port registration reaches the queue")
            #expect(watcher.notifications.gate.shut(waitingAtMost: 1_000_000_000))
            #expect(try !registrationArrives(), "after the shut, none does")
        }
    }

    /// Before the gate, the flooding client's notifications kept the closing
    /// client's notification thread inside `GraphChangeQueue.append`
    /// (allocating, under a lock) when jackd2 cancelled it.
    @Test("clients close one after another while another client floods them with port notifications (jackd2)")
    func closingUnderANotificationFlood() async throws {
        try await withJackServer { server in
            let flooder = try JackClient(name: "flooder", serverName: server.name)
            defer { flooder.close() }
            try flooder.activate()
            let flooding = Atomic(true)
            let flooded = Atomic(0)
            let threads = (0..<2).map { _ in Thread {
                while flooding.load(ordering: .acquiring) {
                    guard let port = try? flooder.registerPort("flood", direction: .output) else { continue }
                    flooder.unregister(port)
                    flooded.add(1, ordering: .relaxed)
                }
            } }
            threads.forEach { $0.start() }
            defer { flooding.store(false, ordering: .releasing) }
            for _ in 0..<Self.rounds {
                let client = try JackClient(name: "closing", serverName: server.name)
                try client.activate()
                for index in 0..<8 {
                    let port = try client.registerPort("out\(index)", direction: .output)
                    try client.connect(port.name, to: "system:playback_\(index % 2 + 1)")
                }
                client.close()
                            }
            let floodedPorts = flooded.load(ordering: .relaxed)
            #expect(floodedPorts > Self.rounds)
        }
    }

    static let rounds = Int(ProcessInfo.processInfo.environment["WASAPI_JACK_GATE_ROUNDS"] ?? "") ?? 100
}
