import Foundation
import JackEngine
import ServerFixtures
import WASAPI

/// The round trips of one route at one period, in frames.
struct RouteLatency: Codable, Equatable {
    /// `jack` (the probe wired to itself), or a ``MonitorMode``'s name.
    var route: String
    var minFrames: Int?
    var medianFrames: Int?
    var maxFrames: Int?
    var medianMilliseconds: Double?
    /// Impulses that came back, and those that did not within the time allowed.
    var impulses: Int
    var lost: Int
    /// Late cycles the server reported while the route was measured.
    var xruns: Int
}

/// Every route at one period.
struct SweepPoint: Codable, Equatable {
    var periodFrames: Int
    var routes: [RouteLatency]
}

/// `latency --sweep`: round trips at every period, the wake-up jitter and the smallest safe buffers.
struct SweepReport: Codable {
    var sampleRate: Int
    var implementation: String
    /// "private jackd per period (dummy backend)", or the running server's name.
    var server: String
    var impulsesPerRoute: Int
    var points: [SweepPoint]
    var jitter: JitterReport?
}

/// The routes a sweep measures, in order: JACK alone, then each monitor mode.
let sweepRoutes = ["jack"] + MonitorMode.allCases.map(\.rawValue)

/// Measures the round trip of every route at each period, like RTL Utility
/// sweeps a driver's buffer sizes: on a private jackd started per period
/// (dummy backend), or on a running server whose period it changes and
/// restores. Progress goes to standard error.
///
/// Control path: runs on the caller's thread; no JACK client of the process
/// may be open on another server (libjack serves one server per process).
struct LatencySweep {
    var periods: [Int]
    var count: Int
    /// Where to measure.
    enum Server {
        /// A private jackd (dummy backend) started per period.
        case privatePerPeriod
        /// A running server (nil: JACK's default), its period changed and restored.
        case running(String?)
    }

    var server: Server
    var sampleRate = 48_000

    func run() throws -> (points: [SweepPoint], implementation: String) {
        var points: [SweepPoint] = []
        var implementation = ""
        if case let .running(runningServer) = server {
            let keeper = try LatencyProbe(serverName: runningServer)
            let original = keeper.periodFrames
            defer { _ = try? keeper.setPeriod(original) }
            for period in periods {
                guard try keeper.setPeriod(period) else {
                    throw CommandFailure("the server refused a period of \(period) frames")
                }
                points.append(try measure(period: period, serverName: runningServer, implementation: &implementation))
            }
            return (points, implementation)
        }
        for period in periods {
            var configuration = JackServerProcess.Configuration(
                name: JackServerProcess.Configuration.uniqueName(prefix: "wasapi-sweep"))
            configuration.sampleRate = sampleRate
            configuration.period = period
            let server = try JackServerProcess.start(configuration)
            defer { server.stop() }
            // Every client of this server closes when `measure` returns.
            points.append(try measure(period: period, serverName: server.name, implementation: &implementation))
            try Self.waitForClientsToClose()
        }
        return (points, implementation)
    }

    /// Every route at the server's current period.
    private func measure(period: Int, serverName: String?, implementation: inout String) throws -> SweepPoint {
        let enumerator = try MMDeviceEnumerator(serverName: serverName)
        implementation = enumerator.engineImplementation
        let capture = try resolveEndpoint(nil, flow: .capture, purpose: "the sweep", enumerator: enumerator)
        let render = try resolveEndpoint(nil, flow: .render, purpose: "the sweep", enumerator: enumerator)
        let rate = enumerator.sampleRate
        let probe = try LatencyProbe(serverName: enumerator.serverName, intervalFrames: max(2 * period, rate / 100))
        // An impulse needs at most a few periods (and the resamplers' delay)
        // to return; one that takes eight is counted lost.
        let timeout = Double(count + 1) * Double(10 * period + rate / 100) / Double(rate) + 5
        var routes: [RouteLatency] = []
        for route in sweepRoutes {
            let xruns = probe.xrunCount
            var delays: [Int]
            if let mode = MonitorMode(rawValue: route) {
                let monitor = try Monitor(mode: mode, enumerator: enumerator, capture: capture, render: render, connect: false)
                defer { monitor.stop() }
                try probe.connect(probe.outputPortName, to: monitor.inputPortNames[0])
                try probe.connect(monitor.outputPortNames[0], to: probe.inputPortName)
                delays = probe.collect(count: count + 1, timeoutSeconds: timeout)
                try probe.disconnect(probe.outputPortName, from: monitor.inputPortNames[0])
                try probe.disconnect(monitor.outputPortNames[0], from: probe.inputPortName)
            } else {
                try probe.connectJackAlone()
                delays = probe.collect(count: count + 1, timeoutSeconds: timeout)
                try probe.disconnectJackAlone()
            }
            // The first impulse after wiring may have crossed a half-made route.
            delays = Array(delays.dropFirst())
            routes.append(Self.summary(route: route, delays: delays, wanted: count, rate: rate,
                                       xruns: Int(probe.xrunCount - xruns)))
            printToStandardError("period \(period): \(route) \(routes.last!.medianFrames.map(String.init) ?? "-") frames")
        }
        return SweepPoint(periodFrames: period, routes: routes)
    }

    static func summary(route: String, delays: [Int], wanted: Int, rate: Int, xruns: Int) -> RouteLatency {
        let sorted = delays.sorted()
        let median = sorted.isEmpty ? nil : sorted[sorted.count / 2]
        return RouteLatency(route: route, minFrames: sorted.first, medianFrames: median, maxFrames: sorted.last,
                            medianMilliseconds: median.map { Double($0) * 1000 / Double(rate) },
                            impulses: sorted.count, lost: max(0, wanted - sorted.count), xruns: xruns)
    }

    /// Waits (at most 5 s) until every JACK client of this process has
    /// closed, so that the next server may be opened.
    static func waitForClientsToClose() throws {
        let deadline = Date().addingTimeInterval(5)
        while JackClient.serverInUse != nil && Date() < deadline { usleep(10_000) }
        if let server = JackClient.serverInUse {
            throw CommandFailure("a JACK client on '\(server)' did not close; the sweep cannot go on to the next server")
        }
    }
}
