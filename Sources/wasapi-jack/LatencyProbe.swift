import CProcessCycle
import Foundation
import AudioGraph
import JackEngine
import Realtime
import Synchronization

/// Measures a round trip through the JACK graph the way `jack_iodelay` does
/// from the outside: its own JACK client sends an impulse from its output
/// port and times its arrival at its input port, in frames.
///
/// The probe runs in a JACK client of its own, so the graph orders it like
/// any other client: what it sends in cycle n through a chain that leads back
/// to it arrives, at best, in cycle n+1 (JACK's own round trip: one period).
///
/// JACK alone (``connectJackAlone()``): on jackd2 the probe's output is wired
/// straight to its input, as `jack_iodelay` is wired to itself. On
/// pipewire-jack (Debian 12's 0.3.65; not re-checked on later versions, so
/// kept for every PipeWire) a client's output connected to its own input
/// carries silence, so the loop goes through a second client of the probe,
/// `wasapi-jack-latency-loop`, that copies its input to its output in the
/// same cycle (``monitorProcessFunction``): through it JACK's round trip is
/// the same one period.
final class LatencyProbe {
    let outputPortName: String
    let inputPortName: String
    private let client: JackClient
    private let state = RealtimeBox(ProbeState())
    private let slot: RealtimeBox<CallbackSlot>
    private let token: InstalledSlot
    /// The pass-through client for JACK alone on pipewire-jack (nil on jackd2).
    private let loop: PassThroughClient?

    /// - Parameter intervalFrames: frames between an impulse's return and
    ///   the next impulse (default: 200 ms).
    init(serverName: String?, intervalFrames: Int? = nil) throws {
        client = try JackClient(name: "wasapi-jack-latency", serverName: serverName)
        let input = try client.registerPort("in", direction: .input)
        let output = try client.registerPort("out", direction: .output)
        (inputPortName, outputPortName) = (input.name, output.name)
        state.pointer.pointee.interval = intervalFrames ?? client.sampleRate / 5
        slot = RealtimeBox(CallbackSlot(inputs: [input], outputs: [output], sampleRate: client.sampleRate,
                                        function: probeProcessFunction, context: UnsafeMutableRawPointer(state.pointer)))
        token = try client.install(slot)
        try client.activate()
        slot.pointer.pointee.running.store(true, ordering: .releasing)
        loop = client.isPipeWire ? try PassThroughClient(serverName: serverName) : nil
    }

    deinit {
        client.uninstall(token)
        client.close()
    }

    /// The route of JACK alone: the probe's output back to its input (jackd2),
    /// or through the pass-through client (pipewire-jack; see the type's notes).
    private var jackAloneRoute: [(String, String)] {
        guard let loop else { return [(outputPortName, inputPortName)] }
        return [(outputPortName, loop.inputPortName), (loop.outputPortName, inputPortName)]
    }

    /// Wires the route that measures JACK alone.
    func connectJackAlone() throws {
        for (source, destination) in jackAloneRoute { try client.connect(source, to: destination) }
    }

    /// Unwires the route that measures JACK alone.
    func disconnectJackAlone() throws {
        for (source, destination) in jackAloneRoute { try client.disconnect(source, from: destination) }
    }

    var periodFrames: Int { client.bufferSize }
    var sampleRate: Int { client.sampleRate }

    func connect(_ source: String, to destination: String) throws { try client.connect(source, to: destination) }
    func disconnect(_ source: String, from destination: String) throws { try client.disconnect(source, from: destination) }

    /// Collects `count` round trips; nil when fewer arrived within `timeoutSeconds`.
    func measure(count: Int, timeoutSeconds: Double = 10) -> [Int]? {
        let delays = collect(count: count, timeoutSeconds: timeoutSeconds)
        return delays.count == count ? delays : nil
    }

    /// Late cycles the server reported since the probe opened.
    var xrunCount: UInt64 { client.xrunCount }

    /// Asks the server for a `frames` period and waits (at most 5 s) until
    /// the probe's client sees it; false when the server refused.
    func setPeriod(_ frames: Int) throws -> Bool {
        guard try client.setBufferSize(frames) else { return false }
        let deadline = Date().addingTimeInterval(5)
        while client.bufferSize != frames && Date() < deadline { usleep(10_000) }
        return client.bufferSize == frames
    }

    /// Collects up to `count` round trips, as many as arrive within `timeoutSeconds`.
    func collect(count: Int, timeoutSeconds: Double) -> [Int] {
        let probe = state.pointer
        let start = probe.pointee.measurements.load(ordering: .acquiring)
        var delays: [Int] = []
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var seen = start
        while delays.count < count && Date() < deadline {
            usleep(10_000)
            let now = probe.pointee.measurements.load(ordering: .acquiring)
            if now != seen {
                seen = now
                delays.append(probe.pointee.lastDelay.load(ordering: .relaxed))
            }
        }
        return delays
    }
}

/// The probe's real-time state, behind a pointer handed to the process function.
struct ProbeState: ~Copyable {
    /// Frames between impulses (set before the probe runs).
    var interval = 9600
    /// Frame position of the impulse in flight; -1: none.
    var emittedAt: Int64 = -1
    var nextEmission: Int64 = 0
    /// Round trips measured so far, and the last one in frames.
    let measurements = Atomic<Int>(0)
    let lastDelay = Atomic<Int>(0)
}

/// Sends one impulse, waits for it on the input (or gives up after a second),
/// and records the delay. Real-time: `@_noLocks`, no allocation.
let probeProcessFunction: ProcessFunction = { cycle, context in
    runProbe(cycle, context!.assumingMemoryBound(to: ProbeState.self))
}

@_noLocks
func runProbe(_ cycle: UnsafePointer<wasapi_jack_cycle>, _ state: UnsafeMutablePointer<ProbeState>) {
    let frames = Int(cycle.pointee.frames)
    let start = Int64(bitPattern: cycle.pointee.frame_position)
    let end = start + Int64(frames)
    // The input first: connected straight back to the output, JACK may hand
    // both ports the same buffer, which holds the last cycle's output now.
    let input = cycle.pointee.inputs![0], output = cycle.pointee.outputs![0]
    let emitted = state.pointee.emittedAt
    if emitted >= 0 {
        // 0.3, not 0.5: a route through two resamplers spreads the impulse
        // over a few frames and lowers its peak; its side lobes stay below.
        for frame in 0..<frames where input[frame] > 0.3 {
            state.pointee.lastDelay.store(Int(start + Int64(frame) - emitted), ordering: .relaxed)
            state.pointee.measurements.add(1, ordering: .releasing)
            state.pointee.emittedAt = -1
            state.pointee.nextEmission = end + Int64(state.pointee.interval)
            break
        }
        if state.pointee.emittedAt >= 0 && end - emitted > Int64(state.pointee.interval) * 5 {
            state.pointee.emittedAt = -1  // lost: send another
            state.pointee.nextEmission = end
        }
    }
    for frame in 0..<frames { output[frame] = 0 }
    if state.pointee.emittedAt < 0 && state.pointee.nextEmission < end {
        let at = max(state.pointee.nextEmission, start)
        output[Int(at - start)] = 1
        state.pointee.emittedAt = at
    }
}

/// A second JACK client that copies its one input to its one output in the
/// same cycle: the probe's loop on pipewire-jack (see ``LatencyProbe``).
final class PassThroughClient {
    let inputPortName: String
    let outputPortName: String
    private let client: JackClient
    private let slot: RealtimeBox<CallbackSlot>
    private let token: InstalledSlot

    init(serverName: String?) throws {
        client = try JackClient(name: "wasapi-jack-latency-loop", serverName: serverName)
        let input = try client.registerPort("in", direction: .input)
        let output = try client.registerPort("out", direction: .output)
        (inputPortName, outputPortName) = (input.name, output.name)
        slot = RealtimeBox(CallbackSlot(inputs: [input], outputs: [output], sampleRate: client.sampleRate,
                                        function: monitorProcessFunction, context: nil))
        token = try client.install(slot)
        client.reportPassThroughLatency(inputs: [input], outputs: [output])
        try client.activate()
        slot.pointer.pointee.running.store(true, ordering: .releasing)
    }

    deinit {
        client.uninstall(token)
        client.close()
    }
}
