import AudioGraph
import CProcessCycle
import Realtime
import Synchronization


/// The real-time half of an in-callback stream: input and output ports and a
/// C process function that JACK's process callback calls directly on their
/// buffers. Nothing is buffered between the graph and the function, so the
/// stream adds no latency of its own: what arrives at the inputs in a cycle can
/// leave the outputs in the same cycle.
///
/// While the slot is not ``running`` the function is not called and the
/// outputs carry silence.
///
/// The built-in ``monitorProcessFunction`` is recognised when the slot is
/// made and runs as a direct copy between the port buffers: no plane table,
/// no call through a pointer (see MonitorBenchmarks for what that saves).
///
/// Thread safety: fixed at creation except the atomics, which control threads
/// may change at any time. ``process(frames:)`` is `@_noLocks` and
/// runs only on JACK's process thread.
public struct CallbackSlot: ~Copyable, @unchecked Sendable {
    public let inputCount: Int
    public let outputCount: Int
    private let inputPorts: UnsafeMutablePointer<OpaquePointer>
    private let outputPorts: UnsafeMutablePointer<OpaquePointer>
    private let inputPlanes: UnsafeMutablePointer<UnsafePointer<Float>>
    private let outputPlanes: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    private let cycle: UnsafeMutablePointer<wasapi_jack_cycle>
    private let function: ProcessFunction
    private let context: UnsafeMutableRawPointer?
    /// The function is ``monitorProcessFunction``: copy instead of calling it.
    private let isPassThrough: Bool
    /// For each output, the input port the built-in monitor copies into it
    /// (input `k % inputCount`), or nil for silence when there is no input.
    private let passThroughSources: UnsafeMutablePointer<OpaquePointer?>

    /// Whether the process function runs.
    public let running = Atomic<Bool>(false)
    /// Frames processed while running (only the process thread writes it).
    public let framePosition = Atomic<UInt64>(0)

    /// Creates a slot over `inputs` and `outputs` (either may be empty, not
    /// both) that calls `function` with `context`. Control path (allocates).
    public init(inputs: [EnginePort], outputs: [EnginePort], sampleRate: Int,
                function: ProcessFunction, context: UnsafeMutableRawPointer?) {
        precondition(!inputs.isEmpty || !outputs.isEmpty, "an in-callback slot needs a port")
        inputCount = inputs.count
        outputCount = outputs.count
        inputPorts = .allocate(capacity: max(inputs.count, 1))
        inputPorts.initialize(from: inputs.map(\.jack), count: inputs.count)
        outputPorts = .allocate(capacity: max(outputs.count, 1))
        outputPorts.initialize(from: outputs.map(\.jack), count: outputs.count)
        inputPlanes = .allocate(capacity: max(inputs.count, 1))
        outputPlanes = .allocate(capacity: max(outputs.count, 1))
        cycle = .allocate(capacity: 1)
        cycle.initialize(to: wasapi_jack_cycle(
            frames: 0, input_count: UInt32(inputs.count), output_count: UInt32(outputs.count),
            sample_rate: UInt32(sampleRate),
            inputs: inputs.isEmpty ? nil : UnsafePointer(inputPlanes),
            outputs: outputs.isEmpty ? nil : UnsafePointer(outputPlanes),
            frame_position: 0, jack_client: nil))
        self.function = function
        self.context = context
        isPassThrough = unsafeBitCast(function, to: UnsafeRawPointer.self)
            == unsafeBitCast(monitorProcessFunction, to: UnsafeRawPointer.self)
        passThroughSources = .allocate(capacity: max(outputs.count, 1))
        passThroughSources.initialize(
            from: outputs.indices.map { inputs.isEmpty ? nil : inputs[$0 % inputs.count].jack }, count: outputs.count)
    }

    deinit {
        inputPorts.deallocate()
        outputPorts.deallocate()
        inputPlanes.deallocate()
        outputPlanes.deallocate()
        cycle.deallocate()
        passThroughSources.deallocate()
    }

    /// Gives the process function the `jack_client_t *` it may use for
    /// jack.h's real-time-safe calls. Control path, before the slot is
    /// published.
    func attach(to client: OpaquePointer) {
        cycle.pointee.jack_client = UnsafeMutableRawPointer(client)
    }

    /// Hands this cycle's port buffers to the process function. Process thread only.
    @_noLocks @inline(__always)
    func process(frames: UInt32) {
        guard running.load(ordering: .acquiring) else {
            for index in 0..<outputCount {
                trustedZero(UnsafeMutableRawPointer(trustedPortBuffer(outputPorts[index], frames)), Int(frames) &* 4)
            }
            return
        }
        let position = framePosition.load(ordering: .relaxed)
        if isPassThrough {
            passInputsThrough(frames: frames)
        } else {
            for index in 0..<inputCount {
                inputPlanes[index] = UnsafePointer(trustedPortBuffer(inputPorts[index], frames))
            }
            for index in 0..<outputCount {
                outputPlanes[index] = trustedPortBuffer(outputPorts[index], frames)
            }
            // The ports, counts, rate and client were filled in before.
            cycle.pointee.frames = frames
            cycle.pointee.frame_position = position
            trustedCallProcessFunction(function, cycle, context)
        }
        framePosition.store(position &+ UInt64(frames), ordering: .releasing)
    }

    /// ``monitorProcessFunction``'s copy, straight between the port buffers
    /// (output `k` gets input `k % inputCount`, silence with no inputs).
    @_noLocks @inline(__always)
    private func passInputsThrough(frames: UInt32) {
        let bytes = Int(frames) &* 4
        // Stereo, the common monitor, unrolled: no loop, both sources known
        // up front (measured in MonitorBenchmarks).
        if outputCount == 2, let left = passThroughSources[0], let right = passThroughSources[1] {
            trustedMemcpy(trustedPortBuffer(outputPorts[0], frames), trustedPortBuffer(left, frames), bytes)
            trustedMemcpy(trustedPortBuffer(outputPorts[1], frames), trustedPortBuffer(right, frames), bytes)
            return
        }
        for index in 0..<outputCount {
            let output = trustedPortBuffer(outputPorts[index], frames)
            if let source = passThroughSources[index] {
                trustedMemcpy(output, trustedPortBuffer(source, frames), bytes)
            } else {
                trustedZero(output, bytes)
            }
        }
    }
}
