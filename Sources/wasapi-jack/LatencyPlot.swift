import Foundation

/// The sweep as an SVG plot: round trip (median, milliseconds, log2 scale)
/// against the period (frames, log2 scale), one polyline per route, with
/// each point's min-max range as a vertical bar. Plain SVG 1.1, no script.
enum LatencyPlot {
    static let colors = ["jack": "#444444", "callback": "#1f77b4", "exclusive": "#2ca02c",
                         "shared": "#ff7f0e", "shared-resampled": "#d62728"]
    static let labels = ["jack": "JACK alone", "callback": "callback (in-callback stream)",
                         "exclusive": "exclusive, event-driven", "shared": "shared, mix format",
                         "shared-resampled": "shared, 44.1 kHz resampled"]

    static func svg(_ report: SweepReport) -> String {
        let width = 800.0, height = 480.0
        let left = 70.0, right = 560.0, top = 50.0, bottom = 420.0
        let periods = report.points.map { Double($0.periodFrames) }
        let rate = Double(report.sampleRate)
        let milliseconds = report.points.flatMap(\.routes).flatMap { [$0.minFrames, $0.maxFrames] }
            .compactMap { $0.map { Double($0) * 1000 / rate } }.filter { $0 > 0 }
        let xLow = log2(periods.min() ?? 16) - 0.25, xHigh = log2(periods.max() ?? 2048) + 0.25
        let yLow = floor(log2(milliseconds.min() ?? 0.25)), yHigh = max(yLow + 1, ceil(log2(milliseconds.max() ?? 128)))
        func x(_ period: Double) -> Double { left + (log2(period) - xLow) / (xHigh - xLow) * (right - left) }
        func y(_ ms: Double) -> Double { bottom - (log2(ms) - yLow) / (yHigh - yLow) * (bottom - top) }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <title>Round trip against period (\(escape(report.implementation)), \(report.sampleRate) Hz)</title>
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(left))" y="28" font-size="15">Round trip through each route, \(report.sampleRate) Hz, \
            \(escape(report.implementation))</text>

            """
        // Grid and ticks.
        for period in periods {
            out += "<line x1=\"\(f(x(period)))\" y1=\"\(f(top))\" x2=\"\(f(x(period)))\" y2=\"\(f(bottom))\" stroke=\"#dddddd\"/>\n"
            out += "<text x=\"\(f(x(period)))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\">\(Int(period))</text>\n"
        }
        for exponent in stride(from: yLow, through: yHigh, by: 1) {
            let ms = pow(2, exponent)
            let label = ms >= 1 ? String(Int(ms)) : String(format: "%g", ms)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y(ms)))\" x2=\"\(f(right))\" y2=\"\(f(y(ms)))\" stroke=\"#dddddd\"/>\n"
            out += "<text x=\"\(f(left - 8))\" y=\"\(f(y(ms) + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"#888888\"/>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 40))\" text-anchor=\"middle\">period (frames, log scale)</text>\n"
        out += "<text transform=\"translate(18 \(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">round trip, median (ms, log scale)</text>\n"

        // One polyline per route, its points and their min-max bars.
        for (index, route) in sweepRoutes.enumerated() {
            let color = colors[route] ?? "#000000"
            var coordinates: [String] = []
            for point in report.points {
                guard let measured = point.routes.first(where: { $0.route == route }),
                      let median = measured.medianMilliseconds, median > 0 else { continue }
                let px = x(Double(point.periodFrames))
                coordinates.append("\(f(px)),\(f(y(median)))")
                if let low = measured.minFrames, let high = measured.maxFrames, low > 0, high > low {
                    out += "<line x1=\"\(f(px))\" y1=\"\(f(y(Double(low) * 1000 / rate)))\" x2=\"\(f(px))\" "
                        + "y2=\"\(f(y(Double(high) * 1000 / rate)))\" stroke=\"\(color)\" stroke-width=\"3\" opacity=\"0.5\"/>\n"
                }
                out += "<circle cx=\"\(f(px))\" cy=\"\(f(y(median)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(coordinates.joined(separator: " "))\">"
                + "<title>\(escape(labels[route] ?? route))</title></polyline>\n"
            let legendY = top + 10 + Double(index) * 22
            out += "<line x1=\"\(f(right + 20))\" y1=\"\(f(legendY))\" x2=\"\(f(right + 44))\" y2=\"\(f(legendY))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(right + 50))\" y=\"\(f(legendY + 4))\">\(escape(labels[route] ?? route))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Text safe inside an XML element or attribute.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
