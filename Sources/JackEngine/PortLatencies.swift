import CJack
import Synchronization

/// The latency each of a client's stream ports adds, reported to JACK from
/// its latency callback so that `jack_lsp -l` and DAWs see it.
///
/// A render stream's output port reports, as its capture latency, how long
/// ago the application produced what the port carries (the stream's
/// buffering and resampler); a capture stream's input port reports, as its
/// playback latency, how long until the application receives what arrives.
///
/// Thread safety: ``set(_:isOutput:frames:)`` and ``remove(_:)`` from control
/// threads; the callback runs on JACK's notification thread (not real-time),
/// so a lock is fine here.
final class PortLatencies: Sendable {
    private struct Entry: Sendable {
        var isOutput: Bool
        var frames: ClosedRange<Int>
    }

    /// By port handle address.
    private let entries = Mutex<[UInt: Entry]>([:])

    private static func key(_ port: JackPort) -> UInt { UInt(bitPattern: Int(bitPattern: port.handle)) }

    func set(_ port: JackPort, isOutput: Bool, frames: ClosedRange<Int>) {
        entries.withLock { $0[Self.key(port)] = Entry(isOutput: isOutput, frames: frames) }
    }

    func remove(_ port: JackPort) {
        entries.withLock { _ = $0.removeValue(forKey: Self.key(port)) }
    }

    /// Sets the ranges JACK asks for in `mode`.
    fileprivate func apply(_ mode: jack_latency_callback_mode_t) {
        for (address, entry) in entries.withLock({ $0 }) {
            // Output ports carry capture latency forward; input ports carry
            // playback latency backward (jack.h, "latency callback").
            let wanted: jack_latency_callback_mode_t = entry.isOutput ? JackCaptureLatency : JackPlaybackLatency
            guard mode == wanted, let port = OpaquePointer(bitPattern: address) else { continue }
            var range = jack_latency_range_t(min: jack_nframes_t(entry.frames.lowerBound),
                                             max: jack_nframes_t(entry.frames.upperBound))
            jack_port_set_latency_range(port, mode, &range)
        }
    }
}

/// `jack_set_latency_callback`: JACK's notification thread, not real-time.
func portLatencyCallback(mode: jack_latency_callback_mode_t, argument: UnsafeMutableRawPointer?) {
    Unmanaged<PortLatencies>.fromOpaque(argument!).takeUnretainedValue().apply(mode)
}
