@_exported import ServerFixtures
import Foundation
import JackEngine
import Testing

/// Runs `body` against a private jackd (dummy backend, 48 kHz, 64-frame
/// period, 2 capture and 2 playback ports, real-time where the system allows)
/// that is started for this call alone and stopped afterwards, whether `body`
/// returns, throws, or records a failed expectation. A crash of the test
/// process stops it too (see ``JackServerProcess``).
///
/// Integration tests never skip for want of a server: they start one here.
///
/// Calls are serialised process-wide (see ``withJackLibrary(_:)``), because
/// libjack holds one server's state per process.
public func withJackServer<Result: Sendable>(
    sampleRate: Int = 48_000, period: Int = 64,
    captureChannels: Int = 2, playbackChannels: Int = 2,
    _ body: (JackServerProcess) async throws -> Result
) async throws -> Result {
    try await withJackLibrary {
        var configuration = JackServerProcess.Configuration(
            name: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-test"))
        configuration.sampleRate = sampleRate
        configuration.period = period
        configuration.captureChannels = captureChannels
        configuration.playbackChannels = playbackChannels
        let server = try JackServerProcess.start(configuration)
        defer {
            // jackd2 stopped while a client of ours still closes waits out
            // its client timeout in ClientDeactivate (30 s here): an engine
            // may close a moment after its test returns, on its own thread.
            waitForClientsToClose()
            server.stop()
        }
        return try await body(server)
    }
}

/// Blocks (at most 5 s) until this process has no JACK client open.
private func waitForClientsToClose() {
    for _ in 0..<500 where JackClient.serverInUse != nil { usleep(10_000) }
}

/// Runs `body` while no other test in this process uses libjack.
///
/// jackd2's libjack keeps the shared memory of one server per process: clients
/// of two different servers in one process corrupt each other's port tables.
/// Swift Testing runs tests in parallel, so every test that opens a JACK
/// client goes through this FIFO gate. Once in, `body` runs on threads of its
/// own (``onTestThreads(_:)``): it measures live streams in real time.
@discardableResult
public func withJackLibrary<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
    await JackLibraryGate.shared.enter()
    // One line per test that takes its turn: when the process dies, the
    // last such line names the test that was using libjack.
    print("libjack in use by: \(Test.current?.name ?? "(a child process)")")
    fflush(nil)
    do {
        let result = try await onTestThreads(body)
        await releaseJackLibrary()
        return result
    } catch {
        await releaseJackLibrary()
        throw error
    }
}

/// Lets the next test in: once every JACK client of this one has closed (an
/// engine may be released a moment after its test returns, on its own
/// control thread), so that the next test may open a client on another
/// server. Bounded: after 5 s the next test goes ahead and reports what it finds.
private func releaseJackLibrary() async {
    try? await waitUntil(seconds: 5) { JackClient.serverInUse == nil }
    await JackLibraryGate.shared.leave()
}

/// A FIFO async lock: waiters suspend (they do not block a thread).
actor JackLibraryGate {
    static let shared = JackLibraryGate()
    private var isHeld = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard isHeld else { isHeld = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty { isHeld = false } else { waiters.removeFirst().resume() }
    }
}
