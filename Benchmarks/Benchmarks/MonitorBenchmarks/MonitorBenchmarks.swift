import Benchmark
import CProcessCycle
import Glibc
import AudioGraph
import JackEngine
import ServerFixtures
import Realtime
import PlainJackClient

// What one JACK process cycle of an in-callback stereo monitor costs: a
// client's whole process callback, called through the function pointer and
// argument the client gave JACK, exactly as JACK calls it. Three peers:
// - "wasapi-jack in-callback monitor": our JackClient with one in-callback
//   slot running InCallbackStream.monitor (monitorProcessFunction), set up as
//   InCallbackStream does it: ProcessGraph.runCycle (the cycle handshake, the
//   callback-slot walk), CallbackSlot.process, which recognises the built-in
//   monitor and copies between the port buffers (jack_port_get_buffer on 2
//   inputs and 2 outputs, memcpy); with no WASAPI stream installed there is
//   no cycle clock and no stream-slot walk.
// - "wasapi-jack user process function": the same, with the same copy
//   written as a user's process function (userCopy below), so the slot
//   fills the plane table and the cycle struct and calls it through its
//   pointer: what an application's own in-callback function costs.
// - "plain C JACK client (peer)": Sources/PlainJackClient, jack_port_get_buffer
//   on 2 inputs and 2 outputs, memcpy input k to output k.
//
// All three are on the same private jackd (dummy backend, 48 kHz, 64-frame
// period, started by JackServerProcess in setup, stopped in teardown). One
// benchmark iteration calls the callback once with nframes = 64; "x100"
// iterations call it 100 times in a row, which takes the timer's own cost
// (see "floor") out of the per-cycle figure.
//
// JACK must never run the callbacks at the same time, so:
// - "inputs connected": the clients are activated, system:capture_k is
//   connected to each client's in_k (so jack_port_get_buffer on an input
//   returns the capture port's buffer, zero copy, as in a real monitor), and
//   then jackd is paused with SIGSTOP: no cycle runs, so JACK's process thread
//   never calls a callback, while the clients' port buffers stay valid in
//   shared memory. jackd continues in teardown.
// - "inputs unconnected": no client is activated (jackd2 refuses to connect
//   ports of inactive clients); jack_port_get_buffer on an input then
//   returns the port's own buffer, which JACK zeroes on every call.
// Setup checks, for every peer, that the callback ran, that outputs carry the
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
            for peer in [Peer.monitor, .userFunction, .plainC] {
                monitorBenchmark(peer, wiring, cycles: cycles)
            }
        }
    }
}

/// The frames per cycle: the server's period.
private let frames: UInt32 = 64

enum Peer: Sendable, CaseIterable {
    /// Our JackClient with an in-callback monitor (InCallbackStream.monitor).
    case monitor
    /// Our JackClient with the same copy as a user's process function.
    case userFunction
    /// The plain C JACK client.
    case plainC

    var label: String {
        switch self {
        case .monitor: "wasapi-jack in-callback monitor"
        case .userFunction: "wasapi-jack user process function"
        case .plainC: "plain C JACK client (peer)"
        }
    }
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

/// A process callback as JACK holds it: the function and its argument.
struct ProcessCallback {
    let function: @convention(c) (UInt32, UnsafeMutableRawPointer?) -> Int32
    let argument: UnsafeMutableRawPointer
}

/// A user's process function doing the monitor's copy: output k gets input k.
private let userCopy: ProcessFunction = { cycle, _ in
    guard let inputs = cycle.pointee.inputs, let outputs = cycle.pointee.outputs else { return }
    let bytes = Int(cycle.pointee.frames) * 4
    for channel in 0..<Int(cycle.pointee.output_count) {
        memcpy(outputs[channel], inputs[channel], bytes)
    }
}

/// One of our JACK clients with one in-callback slot, set up as
/// InCallbackStream sets it up.
final class OurMonitor {
    let client: JackClient
    let slot: RealtimeBox<CallbackSlot>
    let token: InstalledSlot
    let inputs: [EnginePort]
    let outputs: [EnginePort]

    init(name: String, serverName: String, function: ProcessFunction) throws {
        let client = try JackClient(name: name, serverName: serverName)
        self.client = client
        inputs = try (1...2).map { try client.registerPort("monitor.1.in_\($0)", direction: .input) }
        outputs = try (1...2).map { try client.registerPort("monitor.1.out_\($0)", direction: .output) }
        slot = RealtimeBox(CallbackSlot(inputs: inputs, outputs: outputs, sampleRate: client.sampleRate,
                                        function: function, context: nil))
        token = try client.install(slot)
        client.reportPassThroughLatency(inputs: inputs, outputs: outputs)
        slot.pointer.pointee.running.store(true, ordering: .releasing)
    }

    var callback: ProcessCallback {
        let measured = client._processCallbackForMeasurement
        return ProcessCallback(function: measured.function, argument: measured.argument)
    }

    var framePosition: UInt64 { slot.pointer.pointee.framePosition.load(ordering: .acquiring) }

    func close() {
        client.uninstall(token)
        client.close()
    }
}

/// A private server with the three monitors on it, from a benchmark's setup
/// to its teardown.
final class MonitorFixture: @unchecked Sendable {
    let server: JackServerProcess
    let monitor: OurMonitor
    let userFunction: OurMonitor
    let plain: OpaquePointer
    let plainName: String
    let wiring: Wiring
    private var pausedServer: pid_t = 0
    /// The callback to time for each peer.
    private(set) var callbacks: [Peer: ProcessCallback] = [:]

    init(wiring: Wiring) throws {
        self.wiring = wiring
        var configuration = JackServerProcess.Configuration(name: JackServerProcess.Configuration.uniqueName(prefix: "monitor-bench"))
        configuration.sampleRate = 48_000
        configuration.period = Int(frames)
        server = try JackServerProcess.start(configuration)

        monitor = try OurMonitor(name: "ours", serverName: server.name, function: monitorProcessFunction)
        userFunction = try OurMonitor(name: "ours-user", serverName: server.name, function: userCopy)
        guard let plain = plain_monitor_open("plain", server.name) else {
            throw FixtureError("could not open the plain C client")
        }
        self.plain = plain
        plainName = String(cString: plain_monitor_client_name(plain))
        callbacks = [.monitor: monitor.callback, .userFunction: userFunction.callback,
                     .plainC: ProcessCallback(function: plain_monitor_process, argument: plain_monitor_argument(plain))]

        do {
            if wiring == .connected {
                for ours in [monitor, userFunction] { try ours.client.activate() }
                guard plain_monitor_activate(plain) == 0 else { throw FixtureError("could not activate the plain C client") }
                for channel in 1...2 {
                    for input in [monitor.inputs[channel - 1].name, userFunction.inputs[channel - 1].name,
                                  "\(plainName):in_\(channel)"] {
                        try monitor.client.connect("system:capture_\(channel)", to: input)
                    }
                }
                usleep(100_000)
                try pauseServer()
            }
            try check()
        } catch {
            close()  // continues a paused jackd before stopping it
            throw error
        }
    }

    /// Stops jackd (not its watchdog) with SIGSTOP and makes sure no cycle runs.
    private func pauseServer() throws {
        guard let pid = Self.jackdProcess(named: server.name) else { throw FixtureError("jackd's pid not found") }
        guard kill(pid, SIGSTOP) == 0 else { throw FixtureError("SIGSTOP failed") }
        pausedServer = pid
        usleep(50_000)
        let before = monitor.framePosition
        usleep(50_000)
        guard monitor.framePosition == before else {
            throw FixtureError("cycles still run with jackd stopped")
        }
    }

    /// Runs each peer's callback once and checks what it did.
    private func check() throws {
        let positionsBefore = [monitor.framePosition, userFunction.framePosition]
        for peer in Peer.allCases {
            let names: [(input: String, output: String)] = switch peer {
            case .monitor: zip(monitor.inputs, monitor.outputs).map { ($0.name, $1.name) }
            case .userFunction: zip(userFunction.inputs, userFunction.outputs).map { ($0.name, $1.name) }
            case .plainC: (1...2).map { ("\(plainName):in_\($0)", "\(plainName):out_\($0)") }
            }
            // Poison the outputs, so that a copy that did not happen shows.
            for (_, output) in names {
                guard let buffer = plain_monitor_port_buffer(plain, output, frames) else {
                    throw FixtureError("no buffer for \(output)")
                }
                buffer.update(repeating: 12345, count: Int(frames))
            }
            guard runCycle(callbacks[peer]!) == 0 else { throw FixtureError("\(peer.label) returned an error") }
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
        guard [monitor.framePosition, userFunction.framePosition] == positionsBefore.map({ $0 + UInt64(frames) }) else {
            throw FixtureError("an in-callback slot did not run its cycle")
        }
    }

    /// One cycle of a process callback, called as JACK calls it.
    @inline(__always)
    func runCycle(_ callback: ProcessCallback) -> Int32 {
        callback.function(frames, callback.argument)
    }

    func close() {
        if pausedServer > 0 {
            kill(pausedServer, SIGCONT)
            pausedServer = 0
        }
        monitor.close()
        userFunction.close()
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
    let count = cycles == 1 ? "x1  " : "x\(cycles)"
    Benchmark("\(wiring.label): \(count) \(peer.label)", closure: { benchmark in
        guard let fixture = holder.fixture, let callback = fixture.callbacks[peer] else {
            return benchmark.error("no clients: setup did not run")
        }
        var status: Int32 = 0
        benchmark.startMeasurement()
        for _ in 0..<cycles {
            status |= fixture.runCycle(callback)
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
