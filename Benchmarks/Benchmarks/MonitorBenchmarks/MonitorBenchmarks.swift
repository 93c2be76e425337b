import Benchmark
import Glibc
import JackEngine
import Realtime
import PlainJackClient

// What one JACK process cycle of an in-callback stereo monitor costs: our
// client's whole process callback (ProcessGraph.runCycle: the cycle counters,
// the callback-slot walk, CallbackSlot.process with jack_port_get_buffer on 2
// inputs and 2 outputs, the indirect call of monitorProcessFunction; with no
// WASAPI stream installed there is no cycle clock and no stream-slot walk)
// next to a plain C JACK client doing the same copy (Sources/PlainJackClient:
// jack_port_get_buffer on 2 inputs and 2 outputs, memcpy input k to output k).
//
// Both clients are on the same private jackd (dummy backend, 48 kHz, 64-frame
// period, started by JackServerProcess in setup, stopped in teardown). Ours is
// set up exactly as InCallbackStream does it: a CallbackSlot with 2 inputs and
// 2 outputs, monitorProcessFunction, running. One benchmark iteration calls
// the client's own C process callback (the function and argument it gave
// JACK) once with nframes = 64; "x100" iterations call it 100 times in a row,
// which takes the timer's own cost (see "floor") out of the per-cycle figure.
//
// JACK must never run the callback at the same time, so:
// - "inputs connected": both clients are activated, system:capture_k is
//   connected to each client's in_k (so jack_port_get_buffer on an input
//   returns the capture port's buffer, zero copy, as in a real monitor), and
//   then jackd is paused with SIGSTOP: no cycle runs, so JACK's process thread
//   never calls either callback, while the clients' port buffers stay valid in
//   shared memory. jackd continues in teardown.
// - "inputs unconnected": neither client is activated (jackd2 refuses to
//   connect ports of inactive clients); jack_port_get_buffer on an input then
//   returns the port's own buffer, which JACK zeroes on every call.
// Setup checks, for both peers, that the callbacks ran, that outputs carry the
// inputs, and (connected) that the inputs are the capture ports' buffers.
//
// Every benchmark counts mallocs in the measured cycle: it must be 0.
//
// Run from Benchmarks/:
//   swift package --scratch-path .build-bench --allow-writing-to-package-directory \
//       benchmark --target MonitorBenchmarks --no-progress
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 1_000,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    Benchmark("floor: empty measured region") { benchmark in
        benchmark.startMeasurement()
        benchmark.stopMeasurement()
    }
    for wiring in [Wiring.connected, .unconnected] {
        for cycles in [1, 100] {
            monitorBenchmark(.ours, wiring, cycles: cycles)
            monitorBenchmark(.plainC, wiring, cycles: cycles)
        }
    }
}

/// The frames per cycle: the server's period.
private let frames: UInt32 = 64

enum Peer: Sendable {
    /// Our JackClient with an in-callback monitor.
    case ours
    /// The plain C JACK client.
    case plainC
}

enum Wiring: Sendable {
    case connected, unconnected

    var label: String {
        switch self {
        case .connected: "inputs connected, server paused"
        case .unconnected: "inputs unconnected, clients inactive"
        }
    }
}

/// A private server with both monitors on it, from a benchmark's setup to its
/// teardown.
final class MonitorFixture: @unchecked Sendable {
    let server: JackServerProcess
    let client: JackClient
    let slot: RealtimeBox<CallbackSlot>
    let token: InstalledSlot
    let plain: OpaquePointer
    let wiring: Wiring
    private var pausedServer: pid_t = 0

    /// The callback and argument to time for `peer`.
    let ours: (function: @convention(c) (UInt32, UnsafeMutableRawPointer?) -> Int32, argument: UnsafeMutableRawPointer)
    let plainArgument: UnsafeMutableRawPointer

    init(wiring: Wiring) throws {
        self.wiring = wiring
        var configuration = JackServerProcess.Configuration(name: JackServerProcess.Configuration.uniqueName(prefix: "monitor-bench"))
        configuration.sampleRate = 48_000
        configuration.period = Int(frames)
        server = try JackServerProcess.start(configuration)

        // Ours, as InCallbackStream sets it up.
        let client = try JackClient(name: "ours", serverName: server.name)
        self.client = client
        let inputs = try (1...2).map { try client.registerPort("monitor.1.in_\($0)", direction: .input) }
        let outputs = try (1...2).map { try client.registerPort("monitor.1.out_\($0)", direction: .output) }
        slot = RealtimeBox(CallbackSlot(inputs: inputs, outputs: outputs, sampleRate: client.sampleRate,
                                        function: monitorProcessFunction, context: nil))
        token = try client.install(slot)
        client.reportPassThroughLatency(inputs: inputs, outputs: outputs)
        slot.pointer.pointee.running.store(true, ordering: .releasing)
        ours = client.processCallbackForMeasurement

        // The peer.
        guard let plain = plain_monitor_open("plain", server.name) else {
            throw FixtureError("could not open the plain C client")
        }
        self.plain = plain
        plainArgument = plain_monitor_argument(plain)
        let plainName = String(cString: plain_monitor_client_name(plain))

        if wiring == .connected {
            try client.activate()
            guard plain_monitor_activate(plain) == 0 else { throw FixtureError("could not activate the plain C client") }
            for channel in 1...2 {
                try client.connect("system:capture_\(channel)", to: inputs[channel - 1].name)
                try client.connect("system:capture_\(channel)", to: "\(plainName):in_\(channel)")
            }
            usleep(100_000)
            try pauseServer()
        }
        try check(inputs: inputs.map(\.name), outputs: outputs.map(\.name), plainName: plainName)
    }

    /// Stops jackd (not its watchdog) with SIGSTOP and makes sure no cycle runs.
    private func pauseServer() throws {
        guard let pid = Self.jackdProcess(named: server.name) else { throw FixtureError("jackd's pid not found") }
        guard kill(pid, SIGSTOP) == 0 else { throw FixtureError("SIGSTOP failed") }
        pausedServer = pid
        usleep(50_000)
        let before = slot.pointer.pointee.framePosition.load(ordering: .acquiring)
        usleep(50_000)
        guard slot.pointer.pointee.framePosition.load(ordering: .acquiring) == before else {
            throw FixtureError("cycles still run with jackd stopped")
        }
    }

    /// Runs each peer's callback once and checks what it did.
    private func check(inputs: [String], outputs: [String], plainName: String) throws {
        let cyclesBefore = slot.pointer.pointee.framePosition.load(ordering: .acquiring)
        for peer in [Peer.ours, .plainC] {
            let names = peer == .ours
                ? zip(inputs, outputs).map { ($0, $1) }
                : (1...2).map { ("\(plainName):in_\($0)", "\(plainName):out_\($0)") }
            // Poison the outputs, so that a copy that did not happen shows.
            for (_, output) in names {
                guard let buffer = plain_monitor_port_buffer(plain, output, frames) else {
                    throw FixtureError("no buffer for \(output)")
                }
                buffer.update(repeating: 12345, count: Int(frames))
            }
            _ = runCycle(peer)
            for (index, (input, output)) in names.enumerated() {
                guard let source = plain_monitor_port_buffer(plain, input, frames),
                      let destination = plain_monitor_port_buffer(plain, output, frames) else {
                    throw FixtureError("no buffer for \(input) or \(output)")
                }
                if wiring == .connected {
                    let capture = plain_monitor_port_buffer(plain, "system:capture_\(index + 1)", frames)
                    guard source == capture else { throw FixtureError("\(input) is not system:capture_\(index + 1)'s buffer") }
                }
                guard memcmp(source, destination, Int(frames) * 4) == 0 else {
                    throw FixtureError("\(output) does not carry \(input)")
                }
            }
        }
        guard slot.pointer.pointee.framePosition.load(ordering: .acquiring) == cyclesBefore + UInt64(frames) else {
            throw FixtureError("our monitor function did not run")
        }
    }

    /// One cycle of `peer`'s process callback.
    @inline(__always)
    func runCycle(_ peer: Peer) -> Int32 {
        switch peer {
        case .ours: ours.function(frames, ours.argument)
        case .plainC: plain_monitor_process(frames, plainArgument)
        }
    }

    func close() {
        if pausedServer > 0 {
            kill(pausedServer, SIGCONT)
            pausedServer = 0
        }
        client.uninstall(token)
        client.close()
        plain_monitor_close(plain)
        server.stop()
    }

    /// The pid of `jackd -n name`, from /proc.
    private static func jackdProcess(named name: String) -> pid_t? {
        guard let directory = opendir("/proc") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let pidText = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let pid = pid_t(pidText), let file = fopen("/proc/\(pid)/cmdline", "r") else { continue }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let count = fread(&bytes, 1, bytes.count, file)
            fclose(file)
            let arguments = bytes[..<count].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let program = arguments.first, program == "jackd" || program.hasSuffix("/jackd") else { continue }
            if let flag = arguments.firstIndex(of: "-n"), flag + 1 < arguments.count, arguments[flag + 1] == name {
                return pid
            }
        }
        return nil
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private final class FixtureHolder: @unchecked Sendable {
    var fixture: MonitorFixture?
}

/// Registers the benchmark of `cycles` cycles of `peer`'s process callback.
private func monitorBenchmark(_ peer: Peer, _ wiring: Wiring, cycles: Int) {
    let holder = FixtureHolder()
    let who = peer == .ours ? "wasapi-jack in-callback monitor" : "plain C JACK client (peer)"
    let count = cycles == 1 ? "x1  " : "x\(cycles)"
    Benchmark("\(wiring.label): \(count) \(who)", closure: { benchmark in
        guard let fixture = holder.fixture else { return benchmark.error("no clients: setup did not run") }
        var status: Int32 = 0
        benchmark.startMeasurement()
        for _ in 0..<cycles {
            status |= fixture.runCycle(peer)
        }
        benchmark.stopMeasurement()
        if status != 0 { benchmark.error("the process callback returned \(status)") }
    }, setup: {
        holder.fixture = try MonitorFixture(wiring: wiring)
    }, teardown: {
        holder.fixture?.close()
        holder.fixture = nil
    })
}
