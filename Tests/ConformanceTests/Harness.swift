import Foundation
import JackTestSupport
import PCM
import Realtime
import SimulatedEngine
import Testing
import WASAPI

/// Where a conformance check runs: the simulated engine (virtual time), a
/// private jackd, or a private PipeWire through its libjack.
///
/// The test process links jackd2's libjack, so the PipeWire run is the
/// jackd run of the same file executed by a child test process with
/// PipeWire's libjack (``PipeWireServerProcess/environment``) and the
/// server's name in ``Harness/serverVariable``.
final class Harness: @unchecked Sendable {
    /// The name of the JACK server a child conformance run uses instead of starting jackd.
    static let serverVariable = "WASAPI_CONFORMANCE_SERVER"

    let enumerator: MMDeviceEnumerator
    /// Set on the simulated engine: time passes by running cycles.
    let sim: SimulatedAudioEngine?

    init(enumerator: MMDeviceEnumerator, sim: SimulatedAudioEngine?) {
        self.enumerator = enumerator
        self.sim = sim
    }

    var render: MMDevice { get throws { try enumerator.getDefaultAudioEndpoint(.render, role: .multimedia) } }
    var capture: MMDevice { get throws { try enumerator.getDefaultAudioEndpoint(.capture, role: .multimedia) } }

    /// Lets `milliseconds` pass: virtual cycles on the simulator, sleep on a real server.
    func pass(milliseconds: Int) async throws {
        if let sim {
            let rate = sim.sampleRate, period = sim.bufferSize
            sim.runCycles((milliseconds * rate / 1000 + period - 1) / period)
        } else {
            try await pause(for: .milliseconds(milliseconds))
        }
    }

    /// WaitForSingleObject(event, milliseconds): whether the event fired
    /// within that window (simulator: within that many milliseconds of cycles).
    func wait(_ event: RealtimeEvent, milliseconds: Int) async throws -> Bool {
        guard sim != nil else { return event.wait(timeoutMilliseconds: milliseconds) == .signaled }
        try await pass(milliseconds: milliseconds)
        return event.reset()
    }

    /// WaitForSingleObject(event, milliseconds) that returns at the first
    /// signal: on the simulator, cycles run one at a time until it fires (at
    /// most that many milliseconds of them), so no cycle passes unwatched.
    func waitForSignal(_ event: RealtimeEvent, milliseconds: Int) -> Bool {
        guard let sim else { return event.wait(timeoutMilliseconds: milliseconds) == .signaled }
        let cycles = (milliseconds * sim.sampleRate / 1000 + sim.bufferSize - 1) / sim.bufferSize
        for _ in 0..<cycles {
            if event.reset() { return true }
            sim.runCycles(1)
        }
        return event.reset()
    }

    /// One of Wine's test functions: its name and its port.
    typealias Step = (name: String, body: @Sendable (Harness) async throws -> Void)

    /// Runs `steps` in order; an error names the function it came from.
    func run(_ steps: [Step]) async throws {
        for step in steps {
            do { try await step.body(self) } catch { throw StepFailure(step: step.name, underlying: error) }
        }
    }

    /// Runs `body` on `engine`: a fresh simulator, a private jackd (or, in a
    /// child run, the server named by ``serverVariable``).
    static func run(_ engine: ConformanceEngine, _ body: (Harness) async throws -> Void) async throws {
        switch engine {
        case .simulated:
            let sim = SimulatedAudioEngine()
            try await body(Harness(enumerator: MMDeviceEnumerator(engine: sim), sim: sim))
        case .jackServer:
            if let name = ProcessInfo.processInfo.environment[serverVariable] {
                try await body(Harness(enumerator: try MMDeviceEnumerator(serverName: name), sim: nil))
            } else {
                try await withJackServer { server in
                    try await body(Harness(enumerator: try MMDeviceEnumerator(serverName: server.name), sim: nil))
                }
            }
        }
    }

    /// Runs the test `filter` selects (a jackd run) in a child test process
    /// against a private PipeWire, and expects it to pass.
    static func runOnPipeWire(filter: String) async throws {
        guard ProcessInfo.processInfo.environment[serverVariable] == nil else { return }  // already the child
        try await withPipeWireServer { server in
            var environment = ProcessInfo.processInfo.environment.merging(server.environment) { $1 }
            environment[serverVariable] = server.name
            let result = try runProgram(CommandLine.arguments[0],
                                        ["--testing-library", "swift-testing", "--filter", filter],
                                        environment: environment, timeoutSeconds: 120)
            let output = result.standardOutput + result.standardError
            #expect(result.status == 0, "\(output.suffix(4000))")
            #expect(output.contains("passed") && !output.contains("0 tests"), "the child ran the test: \(output.suffix(2000))")
        }
    }
}

/// An error thrown inside one of Wine's functions, named.
struct StepFailure: Error, CustomStringConvertible {
    let step: String
    let underlying: any Error
    var description: String { "in \(step): \(underlying)" }
}

/// The engines a conformance function runs on in-process.
enum ConformanceEngine: String, Sendable {
    case simulated
    case jackServer
}

/// Checks one ported assertion: `id` names it in ``Ledger/ported``.
func check(_ id: String, _ condition: Bool, _ detail: @autoclosure () -> String = "",
           sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(condition, "\(id) \(detail())", sourceLocation: sourceLocation)
}

/// The HRESULT `body` returns: S_OK, or the code of the AudioError it throws.
func hresult(_ body: () throws -> Void) -> HRESULT {
    do {
        try body()
        return .S_OK
    } catch let error as AudioError {
        return error.code
    } catch {
        return .E_FAIL
    }
}

/// The HRESULT of a call that returns one (Stop, Reset), or of its error.
func returned(_ body: () throws -> HRESULT) -> HRESULT {
    do { return try body() } catch let error as AudioError { return error.code } catch { return .E_FAIL }
}

/// A shared stream on `device` in its mix format.
func sharedClient(_ device: MMDevice, flags: StreamFlags = [], duration: ReferenceTime = 5_000_000,
                  session: UUID? = nil) throws -> (AudioClient, WaveFormat) {
    let client = try device.activateAudioClient()
    let mix = try client.getMixFormat()
    try client.initialize(shareMode: .shared, streamFlags: flags, bufferDuration: duration, format: mix, sessionGUID: session)
    return (client, mix)
}
