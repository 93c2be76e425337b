// A low-latency monitor with wasapi-jack's in-callback mode (beyond WASAPI):
// the default capture endpoint goes to the default render endpoint inside
// JACK's process callback, with a gain and a peak meter, adding no latency
// to JACK's own round trip. The main thread changes the gain and reads the
// meter through atomics; the process function never blocks or allocates.
//
// Usage: LowLatencyMonitor [SERVER] [SECONDS]
import Foundation
import Realtime
import WASAPI

/// What the process function and the main thread share.
struct MonitorState: ~Copyable {
    /// Linear gain, set by the main thread.
    let gain = AtomicFloat(0.5)
    /// Highest absolute output sample since the main thread last read it.
    let peak = AtomicFloat(0)
}

/// Runs on JACK's real-time thread: copy input k (wrapping) to output k with
/// the gain, and keep the peak. No allocation, lock or reference counting.
let monitorWithGain: InCallbackStream.Function = { cycle, context in
    let state = context!.assumingMemoryBound(to: MonitorState.self)
    let gain = state.pointee.gain.load()
    let frames = Int(cycle.pointee.frames), inputs = Int(cycle.pointee.input_count)
    var peak: Float = 0
    for channel in 0..<Int(cycle.pointee.output_count) {
        let output = cycle.pointee.outputs![channel]
        guard inputs > 0 else {
            for frame in 0..<frames { output[frame] = 0 }
            continue
        }
        let input = cycle.pointee.inputs![channel % inputs]
        for frame in 0..<frames {
            let sample = input[frame] * gain
            output[frame] = sample
            peak = max(peak, abs(sample))
        }
    }
    if peak > state.pointee.peak.load() { state.pointee.peak.store(peak) }
}

let arguments = CommandLine.arguments
let serverName = arguments.count > 1 ? arguments[1] : nil
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2

do {
    let enumerator = try MMDeviceEnumerator(serverName: serverName)
    let capture = try enumerator.getDefaultAudioEndpoint(.capture, role: .console)
    let render = try enumerator.getDefaultAudioEndpoint(.render, role: .console)
    let state = RealtimeBox(MonitorState())
    let monitor = try InCallbackStream(enumerator: enumerator, capture: capture, render: render,
                                       process: monitorWithGain, context: UnsafeMutableRawPointer(state.pointer))
    print("monitoring \(monitor.inputPortNames.joined(separator: ", ")) -> \(monitor.outputPortNames.joined(separator: ", "))")
    print("latency added: none (JACK's period is \(monitor.periodFrames) frames)")
    monitor.start()
    let steps = max(1, Int(seconds * 5))
    for step in 0..<steps {
        Thread.sleep(forTimeInterval: 0.2)
        if step == steps / 2 { state.pointer.pointee.gain.store(1) }
        // A peak written between these two lines is lost: harmless for a meter.
        let peak = state.pointer.pointee.peak.load()
        state.pointer.pointee.peak.store(0)
        print(String(format: "peak %.1f dBFS", 20 * log10(max(Double(peak), 1e-6))))
    }
    guard monitor.stop() else {
        // JACK's cycles are stuck: the process function may still be running
        // on `state`, so it must not be freed. Leave without releasing it.
        print("LowLatencyMonitor: the stream did not stop (JACK's cycles are stuck)")
        exit(1)
    }
    withExtendedLifetime(state) {}
    print("monitored \(monitor.framePosition) frames")
} catch {
    print("LowLatencyMonitor: \(error)")
    exit(1)
}
