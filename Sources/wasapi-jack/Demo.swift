import ArgumentParser
import Foundation
import JackEngine
import Realtime

/// `wasapi-jack demo`: the first thing a new user runs.
///
/// For now it plays a 1 kHz tone through a render stream slot into the
/// graph's playback ports while a capture slot records the same ports' feed,
/// and checks frequency, level and xruns. (The WASAPI-level demo replaces it
/// once audio clients exist.)
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a tone through the JACK graph, record it back and check it.")

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Seconds of tone.")
    var seconds: Double = 1

    func run() throws {
        let connection = try ServerConnection.open(clientName: "wasapi-jack-demo", options: serverOptions)
        let client = connection.client
        defer { client.close() }
        let rate = client.sampleRate
        print("server: \(connection.startedServer?.name ?? serverOptions.server ?? "default"), "
              + "\(rate) Hz, period \(client.bufferSize) frames")
        print("playback ports: " + client.portNames(flags: [.isPhysical, .isInput]).joined(separator: ", "))
        print("capture ports:  " + client.portNames(flags: [.isPhysical, .isOutput]).joined(separator: ", "))

        let output = try client.registerPort("tone", direction: .output)
        let input = try client.registerPort("loopback", direction: .input)
        let frames = Int(seconds * Double(rate))
        let renderRing = RealtimeBox(FrameRing(capacity: frames, bytesPerFrame: 4))
        let captureRing = RealtimeBox(FrameRing(capacity: frames + rate, bytesPerFrame: 4))
        var tone = (0..<frames).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / Double(rate))) }
        _ = tone.withUnsafeMutableBytes { renderRing.pointer.pointee.write(from: $0.baseAddress!, frames: frames) }
        let render = RealtimeBox(StreamSlot(direction: .render, ports: [output], ring: renderRing.pointer))
        let capture = RealtimeBox(StreamSlot(direction: .capture, ports: [input], ring: captureRing.pointer))
        let renderIndex = try client.install(render)
        let captureIndex = try client.install(capture)
        try client.activate()
        for playback in client.portNames(flags: [.isPhysical, .isInput]) {
            try client.connect(output.name, to: playback)
        }
        try client.connect(output.name, to: input.name)
        let xrunsBefore = client.xrunCount
        capture.pointer.pointee.running.store(true, ordering: .releasing)
        render.pointer.pointee.running.store(true, ordering: .releasing)
        while renderRing.pointer.pointee.readableFrames() > 0 && !client.isShutDown { usleep(10_000) }
        usleep(UInt32(200_000))
        client.uninstall(renderIndex)
        client.uninstall(captureIndex)

        var recorded = [Float](repeating: 0, count: captureRing.pointer.pointee.readableFrames())
        let got = recorded.withUnsafeMutableBytes {
            captureRing.pointer.pointee.read(into: $0.baseAddress!, frames: $0.count / 4)
        }
        let signal = recorded.prefix(got).drop { $0 == 0 }.prefix(frames)
        let crossings = zip(signal, signal.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count
        let frequency = Double(crossings) * Double(rate) / Double(max(signal.count, 1))
        let rms = (signal.reduce(0) { $0 + Double($1 * $1) } / Double(max(signal.count, 1))).squareRoot()
        let level = 20 * log10(max(rms, 1e-12))
        let xruns = client.xrunCount - xrunsBefore
        print(String(format: "recorded %d frames: frequency %.1f Hz (want 1000), level %.2f dBFS (want -9.03), xruns %d",
                     signal.count, frequency, level, xruns))
        let passed = signal.count == frames && abs(frequency - 1000) < 5 && abs(level + 9.03) < 0.1
        print(passed ? "PASS" : "FAIL")
        if !passed { throw ExitCode.failure }
    }
}
