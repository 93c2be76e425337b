import ArgumentParser
import Foundation
import WASAPI

/// `wasapi-jack latency`: the round trip through a monitor, measured in the graph.
struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Measure the round trip of a monitor mode inside the JACK graph.",
        discussion: """
            A probe client sends impulses and times their return, first straight \
            back to itself (JACK's own round trip: one period; on pipewire-jack \
            through a second pass-through client of the probe, as a client's \
            port wired to its own port carries silence there), then through a \
            monitor in the chosen mode (see `wasapi-jack monitor`). Prints both \
            and the difference, which is what the mode adds.

            With --sweep it measures, the way RTL Utility sweeps a driver's \
            buffer sizes, the round trip of JACK alone and of every mode at each \
            period from 16 to 2048 frames (--periods to choose), on a private \
            jackd (dummy backend) started per period, or with \
            --use-running-server on the server named by --server, whose period it \
            changes and restores. Then the wake-up jitter of an event-driven \
            thread at normal and "Pro Audio" priority, and the smallest shared \
            buffer that ran --buffer-seconds without an underrun at each. \
            Prints a table (or --json) and writes an SVG plot with --svg.
            """)

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "callback, exclusive, shared or shared-resampled.")
    var mode: MonitorMode = .callback

    @Option(help: "Round trips to measure per route (default: 5; with --sweep 16).")
    var count: Int?

    @Flag(help: "Sweep the period: every route at each of --periods.")
    var sweep = false

    @Option(help: "With --sweep: periods in frames, comma-separated (default: 16,32,64,...,2048).")
    var periods: String?

    @Option(help: "With --sweep: write the plot (round trip against period, one line per route) to this SVG file.")
    var svg: String?

    @Flag(help: "With --sweep: use the running server (--server) instead of private ones; its period is changed and restored.")
    var useRunningServer = false

    @Option(help: "With --sweep: seconds of wake-ups per priority (0: skip the jitter and buffer part).")
    var jitterSeconds: Double = 10

    @Option(help: "With --sweep: seconds a shared buffer must run without an underrun.")
    var bufferSeconds: Double = 60

    @Option(help: "With --sweep: the period of the jitter and buffer part (private server).")
    var jitterPeriod = 64

    @Option(help: "With --sweep: busy threads at ordinary priority during the jitter and buffer part.")
    var load = 0

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Codable {
        var mode: String
        var sampleRate: Int
        var periodFrames: Int
        /// Probe output straight to its input (pipewire-jack: through the probe's pass-through client).
        var jackRoundTripFrames: Int
        /// Probe output through the monitor to its input (the largest measured).
        var monitorRoundTripFrames: Int
        var addedFrames: Int
        var monitorRoundTripMilliseconds: Double
        var measurements: [Int]
    }

    func validate() throws {
        if let count, !(1...100).contains(count) { throw ValidationError("--count must be 1...100, not \(count)") }
        if !sweep && (periods != nil || svg != nil || useRunningServer) {
            throw ValidationError("--periods, --svg and --use-running-server go with --sweep")
        }
        _ = try sweepPeriods()
        guard jitterSeconds >= 0, bufferSeconds > 0, (0...64).contains(load) else {
            throw ValidationError("--jitter-seconds must be >= 0, --buffer-seconds > 0 and --load 0...64")
        }
        guard [16, 32, 64, 128, 256, 512, 1024, 2048, 4096].contains(jitterPeriod) else {
            throw ValidationError("--jitter-period must be a power of two from 16 to 4096, not \(jitterPeriod)")
        }
    }

    /// The periods to sweep, from --periods or 16 to 2048.
    func sweepPeriods() throws -> [Int] {
        guard let periods else { return (4...11).map { 1 << $0 } }
        let values = periods.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map { $0 >= 16 && $0 <= 4096 && $0 & ($0 - 1) == 0 } ?? false }) else {
            throw ValidationError("--periods takes powers of two from 16 to 4096, comma-separated, not '\(periods)'")
        }
        return values.compactMap { $0 }.sorted()
    }

    func run() throws {
        if sweep { return try runSweep() }
        try reportingFailures {
            let session = try ServerSession.open(options: serverOptions)
            try withExtendedLifetime(session) {
                let report = try measure(session.enumerator)
                if json {
                    try printJSON(report)
                    return
                }
                let rate = Double(report.sampleRate) / 1000
                print("JACK alone: \(report.jackRoundTripFrames) frames "
                      + "(\(String(format: "%.3f", Double(report.jackRoundTripFrames) / rate)) ms) "
                      + "at \(report.periodFrames) frames per period, \(report.sampleRate) Hz")
                print("through the \(report.mode) monitor: \(report.monitorRoundTripFrames) frames "
                      + "(\(String(format: "%.3f", report.monitorRoundTripMilliseconds)) ms); "
                      + "the mode adds \(report.addedFrames) frames")
            }
        }
    }

    private func measure(_ enumerator: MMDeviceEnumerator) throws -> Report {
        let capture = try resolveEndpoint(nil, flow: .capture, purpose: "the monitor", enumerator: enumerator)
        let render = try resolveEndpoint(nil, flow: .render, purpose: "the monitor", enumerator: enumerator)
        let probe = try LatencyProbe(serverName: enumerator.serverName)
        try probe.connectJackAlone()
        let count = self.count ?? 5
        guard let alone = probe.measure(count: count) else {
            throw CommandFailure("the probe's impulses did not come back through JACK; is the server running its cycles?")
        }
        try probe.disconnectJackAlone()
        let monitor = try Monitor(mode: mode, enumerator: enumerator, capture: capture, render: render, connect: false)
        defer { monitor.stop() }
        try probe.connect(probe.outputPortName, to: monitor.inputPortNames[0])
        try probe.connect(monitor.outputPortNames[0], to: probe.inputPortName)
        guard let through = probe.measure(count: count) else {
            throw CommandFailure("the probe's impulses did not come back through the \(mode) monitor")
        }
        let worst = through.max()!, base = alone.max()!
        return Report(mode: mode.rawValue, sampleRate: probe.sampleRate, periodFrames: probe.periodFrames,
                      jackRoundTripFrames: base, monitorRoundTripFrames: worst, addedFrames: worst - base,
                      monitorRoundTripMilliseconds: Double(worst) * 1000 / Double(probe.sampleRate),
                      measurements: through)
    }
}
