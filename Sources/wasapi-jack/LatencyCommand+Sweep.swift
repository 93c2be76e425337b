import ArgumentParser
import Foundation
import JackEngine
import ServerFixtures
import WASAPI

extension LatencyCommand {
    /// `latency --sweep`: the table (or JSON), the SVG plot, the jitter.
    func runSweep() throws {
        try reportingFailures {
            let count = self.count ?? 16
            let server: LatencySweep.Server = useRunningServer ? .running(serverOptions.server) : .privatePerPeriod
            let sweep = LatencySweep(periods: try sweepPeriods(), count: count, server: server)
            let (points, implementation) = try sweep.run()
            var report = SweepReport(
                sampleRate: sweep.sampleRate, implementation: implementation,
                server: useRunningServer ? (serverOptions.server ?? "default") : "private jackd per period (dummy backend)",
                impulsesPerRoute: count, points: points, jitter: nil)
            if jitterSeconds > 0 { report.jitter = try measureJitter() }
            if let svg {
                do {
                    try LatencyPlot.svg(report).write(toFile: svg, atomically: true, encoding: .utf8)
                } catch {
                    throw CommandFailure("cannot write the plot to '\(svg)': \(error.localizedDescription)")
                }
            }
            if json {
                try printJSON(report)
            } else {
                print(SweepTable.text(report))
            }
        }
    }

    /// The jitter and buffer part, on a private server at --jitter-period
    /// (or on the running server at its own period).
    private func measureJitter() throws -> JitterReport {
        let measurement = WakeupJitter(seconds: jitterSeconds, bufferSeconds: bufferSeconds, loadThreads: load)
        if useRunningServer {
            return try measurement.run(enumerator: try MMDeviceEnumerator(serverName: serverOptions.server))
        }
        var configuration = JackServerProcess.Configuration(
            name: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-jitter"))
        configuration.period = jitterPeriod
        let server = try JackServerProcess.start(configuration)
        defer { server.stop() }
        let report = try measurement.run(enumerator: try MMDeviceEnumerator(serverName: server.name))
        try LatencySweep.waitForClientsToClose()
        return report
    }
}

/// The sweep as text: one row per period, one column per route.
enum SweepTable {
    static func text(_ report: SweepReport) -> String {
        let rate = Double(report.sampleRate)
        var lines = ["round trip, median frames (ms) [min-max], \(report.impulsesPerRoute) impulses per route; "
                     + "\(report.sampleRate) Hz, \(report.implementation), \(report.server)"]
        let header = ["period"] + sweepRoutes + ["xruns", "lost"]
        var rows: [[String]] = [header]
        for point in report.points {
            var row = [String(point.periodFrames)]
            for route in sweepRoutes {
                guard let measured = point.routes.first(where: { $0.route == route }),
                      let median = measured.medianFrames, let low = measured.minFrames, let high = measured.maxFrames else {
                    row.append("-")
                    continue
                }
                var cell = "\(median) (\(String(format: "%.2f", Double(median) * 1000 / rate)))"
                if low != high { cell += " [\(low)-\(high)]" }
                row.append(cell)
            }
            row.append(String(point.routes.map(\.xruns).reduce(0, +)))
            row.append(String(point.routes.map(\.lost).reduce(0, +)))
            rows.append(row)
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { column, cell in
                String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  "))
        }
        if let jitter = report.jitter { lines += ["", jitterText(jitter)] }
        return lines.joined(separator: "\n")
    }

    static func jitterText(_ jitter: JitterReport) -> String {
        var lines = ["wake-up of an event-driven thread after the cycle's event: \(jitter.periodFrames)-frame period, "
                     + "\(formatSeconds(jitter.seconds)) per priority, \(jitter.loadThreads) busy threads at ordinary priority"]
        let barWidth = 30
        for result in jitter.priorities {
            let scheduling = result.realtimePriority.map { "SCHED_FIFO \($0)" } ?? "SCHED_OTHER"
            lines.append("")
            lines.append("\(result.priority) (\(scheduling)): \(result.wakeups) wake-ups, \(result.missedEvents) events missed; median "
                         + String(format: "%.1f us, p99 %.1f us, max %.1f us", result.medianMicroseconds,
                                  result.p99Microseconds, result.maxMicroseconds))
            if let note = result.note { lines.append("  (\(note))") }
            let largest = max(1, result.histogram.map(\.count).max() ?? 1)
            var lower = 0
            for bin in result.histogram {
                let label = bin.upToMicroseconds.map { "\(lower)-\($0) us" } ?? ">= \(lower) us"
                let bar = String(repeating: "#", count: (bin.count * barWidth + largest - 1) / largest)
                lines.append("  " + label.padding(toLength: 14, withPad: " ", startingAt: 0)
                             + String(repeating: " ", count: max(0, 8 - String(bin.count).count)) + "\(bin.count)  \(bar)")
                lower = bin.upToMicroseconds ?? lower
            }
            let smallest = result.smallestBufferFrames.map { "\($0) frames" } ?? "none of those tried"
            let trials = result.bufferTrials.map { "\($0.bufferFrames): \($0.underrunFrames) frames underrun" }
            lines.append("  smallest buffer kept queued in a shared stream without an underrun for \(formatSeconds(jitter.bufferSeconds)): "
                         + "\(smallest) (\(trials.joined(separator: "; ")))")
        }
        return lines.joined(separator: "\n")
    }

    static func formatSeconds(_ seconds: Double) -> String { String(format: "%g s", seconds) }
}
