import ArgumentParser
import Foundation
import WASAPI

/// `wasapi-jack monitor`: live input to output, in one of four modes.
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Pass a capture endpoint through to a render endpoint.",
        discussion: """
            callback: an in-callback stream copies its inputs to its outputs inside \
            JACK's process callback, adding no latency to JACK's own. exclusive and \
            shared: two WASAPI streams (capture, render) and a copy thread woken by \
            the capture event, adding one JACK period. shared-resampled: the same \
            at 44.1 kHz through the resampler on both sides. Prints the stream's JACK \
            ports; with --no-connect they are left for a patchbay to route.
            """)

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Capture endpoint id (default: the default capture endpoint).")
    var from: String?

    @Option(help: "Render endpoint id (default: the default render endpoint).")
    var to: String?

    @Option(help: "callback, exclusive, shared or shared-resampled.")
    var mode: MonitorMode = .callback

    @Flag(help: "Leave the monitor's ports unconnected.")
    var noConnect = false

    @Option(help: "Stop after this many seconds (default: run until interrupted).")
    var seconds: Double?

    @Option(help: "The copy thread's (exclusive and shared) scheduling: pro-audio (real-time just under JACK's, as AvSetMmThreadCharacteristics(\"Pro Audio\") gives on Windows) or normal.")
    var priority: ThreadPriority = .proAudio

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be positive, not \(seconds)") }
    }

    func run() throws {
        try reportingFailures {
            let session = try ServerSession.open(options: serverOptions)
            try withExtendedLifetime(session) {
                let enumerator = session.enumerator
                let capture = try resolveEndpoint(from, flow: .capture, purpose: "monitoring", enumerator: enumerator)
                let render = try resolveEndpoint(to, flow: .render, purpose: "monitoring", enumerator: enumerator)
                let monitor = try Monitor(mode: mode, enumerator: enumerator, capture: capture, render: render,
                                          connect: !noConnect, priority: priority)
                let added = mode == .callback ? 0 : enumerator.periodFrames
                print("monitoring \(capture.id) -> \(render.id) in \(mode) mode "
                      + "(adds \(added) frames to JACK's round trip"
                      + (mode == .sharedResampled ? ", plus the resamplers' delay)" : ")"))
                print("input ports: \(monitor.inputPortNames.joined(separator: " "))")
                print("output ports: \(monitor.outputPortNames.joined(separator: " "))")
                fflush(nil)  // every stream: the port names reach a pipe at once
                waitForInterruption(seconds: seconds)
                guard monitor.stop() else {
                    throw CommandFailure("the monitor did not stop: JACK's cycles are stuck (a cycle was still in flight after 2 s)")
                }
                print("stopped; \(monitor.droppedFrames) frames dropped")
                // Interrupted: 130 (SIGINT) or 143 (SIGTERM), once the streams are released.
                try Interruption.check()
            }
        }
    }
}

/// Blocks until SIGINT or SIGTERM arrives, or `seconds` pass (nil: no limit).
func waitForInterruption(seconds: Double?) {
    Interruption.wait(seconds: seconds)
}
