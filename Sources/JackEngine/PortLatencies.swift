import AudioGraph
import CJack
import Synchronization

/// The latency each of a client's stream ports adds, reported to JACK so that
/// `jack_lsp -l` and DAWs see it.
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
/// Port lifetime: every `jack_port_t *` is dereferenced (by libjack) only
/// while the one lock is held, by ``apply(_:)`` on JACK's notification
/// thread or by ``set(_:isOutput:frames:)`` on a control thread, and
/// ``remove(_:)`` takes the entry out under that lock; ``JackClient`` calls it
/// before `jack_port_unregister`. So no port is touched once unregistered
/// (issue 14, item 6: entries were addresses read on JACK's thread while a
/// control thread unregistered them).
///
/// Two strategies, chosen by the libjack loaded (``JackImplementation``):
///
/// - jackd2: the ranges are set inside JACK's latency callback, as jack.h
///   asks, and the control path asks for a recompute after a change.
/// - pipewire-jack (written for Debian 12's 0.3.65; the latency paths were
///   reworked in 0.3.70/0.3.71, where the plain strategy is expected to work
///   again, but this one is kept there: it is correct on every version):
///   the latency callback never calls `jack_port_set_latency_range`. In
///   0.3.65 the callback runs with the thread-loop lock released and the
///   client's non-recursive `rt_lock` held, and a *changed* range makes
///   `jack_port_set_latency_range` run, on that thread, every queued loop
///   invocation first: a queued `jack_recompute_total_latencies` then calls
///   the latency callback again and blocks on `rt_lock` for good (hang,
///   measured with a C replica: 2 of 12 runs); and the port update it sends
///   goes out on the protocol connection without the loop lock, racing a
///   control thread inside `jack_connect` (SIGSEGV in `memcpy` under
///   `pw_client_node_port_update` / SIGABRT in `pw_proxy_destroy`, 1 of 12).
///   Instead the fixed ranges are set from the control thread when
///   reported (libjack queues the update to its loop, which sends it under
///   the loop lock), and in-callback streams' pass-through ranges are
///   applied from the control thread after our own connections change
///   (``refreshPassThrough()``). PipeWire itself re-runs the callback, which
///   then only reads, whenever a link of ours completes.
///
/// Thread safety: ``set(_:isOutput:frames:)``, ``setPassThrough(inputs:outputs:)``,
/// ``refreshPassThrough()`` and ``remove(_:)`` from control threads; the
/// callback runs on JACK's notification thread (not real-time), so a lock is
/// fine here. libjack is called under the lock only for latency ranges, which
/// never wait for another thread of ours.
final class PortLatencies: Sendable {
    private struct Entry: Sendable {
        var port: EnginePort
        var isOutput: Bool
        var frames: ClosedRange<Int>
    }

    /// A pass-through group: an in-callback stream's inputs and outputs.
    private struct Group: Sendable {
        var inputs: [EnginePort]
        var outputs: [EnginePort]
        func contains(_ port: EnginePort) -> Bool { inputs.contains(port) || outputs.contains(port) }
    }

    private struct State: Sendable {
        var entries: [EnginePort: Entry] = [:]
        /// By the group's first port.
        var groups: [EnginePort: Group] = [:]
    }

    private let state = Mutex(State())
    /// Whether ranges are set from the control path (pipewire-jack; see the type's notes).
    let setsRangesOutsideCallback: Bool

    init(setsRangesOutsideCallback: Bool = JackImplementation.isPipeWire) {
        self.setsRangesOutsideCallback = setsRangesOutsideCallback
    }

    func set(_ port: EnginePort, isOutput: Bool, frames: ClosedRange<Int>) {
        state.withLock { state in
            let entry = Entry(port: port, isOutput: isOutput, frames: frames)
            state.entries[port] = entry
            if setsRangesOutsideCallback { Self.setRange(of: entry) }
        }
    }

    /// Forgets `port` (and any pass-through group it belongs to). Call it
    /// before `jack_port_unregister`: once it returns, no callback can reach
    /// the port any more.
    func remove(_ port: EnginePort) {
        state.withLock { state in
            state.entries[port] = nil
            state.groups = state.groups.filter { !$0.value.contains(port) }
        }
    }

    /// Reports `inputs` and `outputs` as one stream that adds no latency.
    /// ``remove(_:)`` of any of its ports drops the whole group.
    func setPassThrough(inputs: [EnginePort], outputs: [EnginePort]) {
        guard let first = (inputs + outputs).first else { return }
        state.withLock { state in
            let group = Group(inputs: inputs, outputs: outputs)
            state.groups[first] = group
            if setsRangesOutsideCallback {
                Self.passThrough(group, mode: JackCaptureLatency)
                Self.passThrough(group, mode: JackPlaybackLatency)
            }
        }
    }

    /// Applies every pass-through group again from the control thread (after
    /// this client changed connections; pipewire-jack only, see the notes).
    func refreshPassThrough() {
        guard setsRangesOutsideCallback else { return }
        state.withLock { state in
            for group in state.groups.values {
                Self.passThrough(group, mode: JackCaptureLatency)
                Self.passThrough(group, mode: JackPlaybackLatency)
            }
        }
    }

    /// Latency notifications answered (each round asks twice: capture, then
    /// playback). libjack walks the client's port list just before each, so
    /// a change in the count marks a walk that is over (``LatencyRoundFence``'s test).
    let notificationsAnswered = Atomic<UInt64>(0)

    /// Sets the ranges JACK asks for in `mode`: JACK's latency callback.
    func apply(_ mode: jack_latency_callback_mode_t) {
        defer { notificationsAnswered.add(1, ordering: .releasing) }
        // pipewire-jack 0.3.65: nothing may be set from here (type notes);
        // the ranges were set from the control path.
        guard !setsRangesOutsideCallback else { return }
        state.withLock { state in
            for entry in state.entries.values where mode == Self.mode(of: entry) {
                Self.setRange(of: entry)
            }
            for group in state.groups.values { Self.passThrough(group, mode: mode) }
        }
    }

    /// Output ports carry capture latency forward; input ports carry
    /// playback latency backward (jack.h, "latency callback").
    private static func mode(of entry: Entry) -> jack_latency_callback_mode_t {
        entry.isOutput ? JackCaptureLatency : JackPlaybackLatency
    }

    /// Called with the lock held.
    private static func setRange(of entry: Entry) {
        var range = jack_latency_range_t(min: jack_nframes_t(entry.frames.lowerBound),
                                         max: jack_nframes_t(entry.frames.upperBound))
        jack_port_set_latency_range(entry.port.jack, mode(of: entry), &range)
    }

    /// Capture latency flows from inputs to outputs, playback latency back.
    /// Called with the lock held.
    private static func passThrough(_ group: Group, mode: jack_latency_callback_mode_t) {
        let (sources, targets) = mode == JackCaptureLatency ? (group.inputs, group.outputs)
                                                            : (group.outputs, group.inputs)
        var range = jack_latency_range_t(min: sources.isEmpty ? 0 : .max, max: 0)
        for port in sources {
            var source = jack_latency_range_t(min: 0, max: 0)
            jack_port_get_latency_range(port.jack, mode, &source)
            range.min = min(range.min, source.min)
            range.max = max(range.max, source.max)
        }
        for port in targets {
            // Unchanged ranges are skipped: jackd2 gains nothing, and
            // pipewire-jack sends nothing.
            var current = jack_latency_range_t(min: 0, max: 0)
            jack_port_get_latency_range(port.jack, mode, &current)
            if current.min == range.min && current.max == range.max { continue }
            jack_port_set_latency_range(port.jack, mode, &range)
        }
    }
}
