import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import JackTestSupport
import Testing

/// `wasapi-jack latency --sweep`, kept short: two periods, a few impulses,
/// half a second of wake-ups and buffer per priority. It starts its own
/// private servers (one per period and one for the jitter part).
@Suite("latency --sweep", .serialized, .timeLimit(.minutes(15)))
struct LatencySweepTests {
    struct Report: Decodable {
        struct Route: Decodable {
            var route: String
            var minFrames: Int?, medianFrames: Int?, maxFrames: Int?
            var impulses: Int, lost: Int, xruns: Int
        }
        struct Point: Decodable {
            var periodFrames: Int
            var routes: [Route]
        }
        struct Bin: Decodable { var upToMicroseconds: Int?; var count: Int }
        struct Trial: Decodable { var bufferFrames: Int; var underrunFrames: Int }
        struct Priority: Decodable {
            var priority: String, wakeups: Int, histogram: [Bin], bufferTrials: [Trial]
            var smallestBufferFrames: Int?
            var realtimePriority: Int?
        }
        struct Jitter: Decodable { var periodFrames: Int; var priorities: [Priority] }
        var sampleRate: Int
        var points: [Point]
        var jitter: Jitter?
    }

    static let routes = ["jack", "callback", "exclusive", "shared", "shared-resampled"]

    @Test("--json: every route at 64 and 256 frames; the round trip grows with the period, callback adds nothing to JACK alone; the SVG has one polyline per route")
    func sweep() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plot = directory + "/sweep.svg"
        let result = try runBuiltProduct(["latency", "--sweep", "--periods", "256,64", "--count", "4",
                                          "--jitter-seconds", "0.5", "--buffer-seconds", "0.5", "--json", "--svg", plot],
                                         timeoutSeconds: 240)
        #expect(result.status == 0, "\(result.standardError)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
        #expect(report.points.map(\.periodFrames) == [64, 256], "sorted, as asked")
        for point in report.points {
            #expect(point.routes.map(\.route) == Self.routes)
            for route in point.routes {
                #expect(route.impulses > 0, "\(point.periodFrames) \(route.route): no impulse came back")
                if let low = route.minFrames, let median = route.medianFrames, let high = route.maxFrames {
                    #expect(low <= median && median <= high)
                }
            }
            let frames = Dictionary(uniqueKeysWithValues: point.routes.map { ($0.route, $0.medianFrames ?? -1) })
            let jack = try #require(frames["jack"])
            // JACK alone is one period on the dummy backend (jack_iodelay agrees: LatencyRefereeTests).
            #expect(jack == point.periodFrames, "JACK alone at \(point.periodFrames): \(jack)")
            #expect(frames["callback"] == jack, "callback adds nothing: \(frames)")
            #expect(frames["exclusive"]! > jack && frames["shared"]! > jack, "buffered modes add a period: \(frames)")
            #expect(frames["shared-resampled"]! > frames["shared"]!, "the resamplers add their delay: \(frames)")
        }
        for route in Self.routes {
            let medians = report.points.map { $0.routes.first { $0.route == route }?.medianFrames ?? -1 }
            #expect(medians[1] > medians[0], "\(route): \(medians) does not grow with the period")
        }

        let jitter = try #require(report.jitter)
        #expect(jitter.priorities.map(\.priority) == ["normal", "pro-audio"])
        for priority in jitter.priorities {
            #expect(priority.wakeups > 0)
            #expect(priority.histogram.map(\.count).reduce(0, +) == priority.wakeups,
                    "\(priority.priority): the histogram holds every wake-up")
            #expect(!priority.bufferTrials.isEmpty)
            if let smallest = priority.smallestBufferFrames {
                #expect(priority.bufferTrials.last?.bufferFrames == smallest)
                #expect(priority.bufferTrials.last?.underrunFrames == 0)
            }
        }
        #expect(jitter.priorities[0].realtimePriority == nil, "normal priority stays SCHED_OTHER")

        let svg = try SVGSummary(path: plot)
        #expect(svg.rootName == "svg")
        #expect(svg.polylinePointCounts.count == Self.routes.count, "one polyline per route")
        #expect(svg.polylinePointCounts.allSatisfy { $0 == 2 }, "a point per period: \(svg.polylinePointCounts)")
    }

    @Test("--use-running-server sweeps the given server at each period and gives it back its own period")
    func runningServer() async throws {
        try await withJackServer { server in
            let result = try runBuiltProduct(["--server", server.name, "latency", "--sweep", "--use-running-server",
                                              "--periods", "128", "--count", "3", "--jitter-seconds", "0", "--json"],
                                             timeoutSeconds: 120)
            #expect(result.status == 0, "\(result.standardError)")
            let report = try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
            #expect(report.points.map(\.periodFrames) == [128])
            #expect(report.points.first?.routes.first?.medianFrames == 128, "JACK alone at the server's new period")
            #expect(report.jitter == nil, "--jitter-seconds 0 skips the jitter part")
            struct Single: Decodable { var periodFrames: Int }
            let after = try runBuiltProduct(["latency", "--server", server.name, "--count", "1", "--json"])
            #expect(try JSONDecoder().decode(Single.self, from: Data(after.standardOutput.utf8)).periodFrames
                    == server.configuration.period, "the server's period is restored")
        }
    }

    @Test("--periods takes powers of two only, and the sweep options need --sweep")
    func badOptions() throws {
        let odd = try runBuiltProduct(["latency", "--sweep", "--periods", "64,100"])
        #expect(odd.status != 0)
        #expect(odd.standardError.contains("powers of two"), "\(odd.standardError)")
        let alone = try runBuiltProduct(["latency", "--periods", "64"])
        #expect(alone.status != 0)
        #expect(alone.standardError.contains("--sweep"), "\(alone.standardError)")
    }
}

/// The root element and every polyline's point count of an SVG file, read
/// by Foundation's XML parser (which fails on a file that is not well formed).
struct SVGSummary {
    var rootName = ""
    var polylinePointCounts: [Int] = []

    init(path: String) throws {
        let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: path)))
        final class Delegate: NSObject, XMLParserDelegate {
            var root: String?
            var counts: [Int] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) {
                if root == nil { root = name }
                if name == "polyline" {
                    counts.append((attributes["points"] ?? "").split(separator: " ").count)
                }
            }
        }
        let delegate = Delegate()
        parser.delegate = delegate
        #expect(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
        rootName = delegate.root ?? ""
        polylinePointCounts = delegate.counts
    }
}
