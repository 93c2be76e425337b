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
            """)

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "callback, exclusive or shared.")
    var mode: MonitorMode = .callback

    @Option(help: "Round trips to measure per route.")
    var count = 5

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
        guard (1...100).contains(count) else { throw ValidationError("--count must be 1...100, not \(count)") }
    }

    func run() throws {
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
