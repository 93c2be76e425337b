import AudioGraph
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
/// An in-callback stream's ports pass latency through unchanged, as JACK does
/// for a client without a latency callback: its outputs report the largest
/// capture latency of its inputs, its inputs the largest playback latency of
/// its outputs.
///
/// Thread safety: ``set(_:isOutput:frames:)`` and ``remove(_:)`` from control
/// threads; the callback runs on JACK's notification thread (not real-time),
/// so a lock is fine here.
final class PortLatencies: Sendable {
    private struct Entry: Sendable {
        var isOutput: Bool
        var frames: ClosedRange<Int>
    }

    /// A pass-through group: an in-callback stream's inputs and outputs.
    private struct Group: Sendable {
        var inputs: [UInt]
        var outputs: [UInt]
    }

    /// By port handle address.
    private let entries = Mutex<[UInt: Entry]>([:])
    /// By the address of the group's first port.
    private let groups = Mutex<[UInt: Group]>([:])

    private static func key(_ port: EnginePort) -> UInt { UInt(bitPattern: Int(bitPattern: port.handle)) }

    func set(_ port: EnginePort, isOutput: Bool, frames: ClosedRange<Int>) {
        entries.withLock { $0[Self.key(port)] = Entry(isOutput: isOutput, frames: frames) }
    }

    func remove(_ port: EnginePort) {
        entries.withLock { _ = $0.removeValue(forKey: Self.key(port)) }
        let key = Self.key(port)
        groups.withLock { $0 = $0.filter { !$0.value.inputs.contains(key) && !$0.value.outputs.contains(key) } }
    }

    /// Reports `inputs` and `outputs` as one stream that adds no latency.
    /// ``remove(_:)`` of any of its ports drops the whole group.
    func setPassThrough(inputs: [EnginePort], outputs: [EnginePort]) {
        guard let first = (inputs + outputs).first else { return }
        groups.withLock {
            $0[Self.key(first)] = Group(inputs: inputs.map(Self.key), outputs: outputs.map(Self.key))
        }
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
        for group in groups.withLock({ Array($0.values) }) {
            // Capture latency flows from inputs to outputs, playback latency back.
            let (sources, targets) = mode == JackCaptureLatency ? (group.inputs, group.outputs)
                                                                : (group.outputs, group.inputs)
            var range = jack_latency_range_t(min: sources.isEmpty ? 0 : .max, max: 0)
            for address in sources {
                guard let port = OpaquePointer(bitPattern: address) else { continue }
                var source = jack_latency_range_t(min: 0, max: 0)
                jack_port_get_latency_range(port, mode, &source)
                range.min = min(range.min, source.min)
                range.max = max(range.max, source.max)
            }
            for address in targets {
                guard let port = OpaquePointer(bitPattern: address) else { continue }
                jack_port_set_latency_range(port, mode, &range)
            }
        }
    }
}

/// `jack_set_latency_callback`: JACK's notification thread, not real-time.
func portLatencyCallback(mode: jack_latency_callback_mode_t, argument: UnsafeMutableRawPointer?) {
    Unmanaged<PortLatencies>.fromOpaque(argument!).takeUnretainedValue().apply(mode)
}
