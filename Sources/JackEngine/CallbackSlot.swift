import CProcessCycle
import Realtime
import Synchronization

/// The process function of an in-callback stream: runs on JACK's real-time
/// thread, once per cycle, on the stream's own port buffers.
public typealias ProcessFunction = wasapi_jack_process_function

/// The real-time half of an in-callback stream: input and output ports and a
/// C process function that JACK's process callback calls directly on their
/// buffers. Nothing is buffered between the graph and the function, so the
/// stream adds no latency of its own: what arrives at the inputs in a cycle can
/// leave the outputs in the same cycle.
///
/// While the slot is not ``running`` the function is not called and the
/// outputs carry silence.
///
/// Thread safety: fixed at creation except the atomics, which control threads
/// may change at any time. ``process(frames:client:)`` is `@_noLocks` and
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

    /// Whether the process function runs.
    public let running = Atomic<Bool>(false)
    /// Frames processed while running (only the process thread writes it).
    public let framePosition = Atomic<UInt64>(0)

    /// Creates a slot over `inputs` and `outputs` (either may be empty, not
    /// both) that calls `function` with `context`. Control path (allocates).
    public init(inputs: [JackPort], outputs: [JackPort], sampleRate: Int,
                function: ProcessFunction, context: UnsafeMutableRawPointer?) {
        precondition(!inputs.isEmpty || !outputs.isEmpty, "an in-callback slot needs a port")
        inputCount = inputs.count
        outputCount = outputs.count
        inputPorts = .allocate(capacity: max(inputs.count, 1))
        inputPorts.initialize(from: inputs.map(\.handle), count: inputs.count)
        outputPorts = .allocate(capacity: max(outputs.count, 1))
        outputPorts.initialize(from: outputs.map(\.handle), count: outputs.count)
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
    }

    deinit {
        inputPorts.deallocate()
        outputPorts.deallocate()
        inputPlanes.deallocate()
        outputPlanes.deallocate()
        cycle.deallocate()
    }

    /// Hands this cycle's port buffers to the process function. Process thread only.
    @_noLocks @inline(__always)
    func process(frames: UInt32, client: OpaquePointer?) {
        guard running.load(ordering: .acquiring) else {
            for index in 0..<outputCount {
                trustedZero(UnsafeMutableRawPointer(trustedPortBuffer(outputPorts[index], frames)), Int(frames) &* 4)
            }
            return
        }
        for index in 0..<inputCount {
            inputPlanes[index] = UnsafePointer(trustedPortBuffer(inputPorts[index], frames))
        }
        for index in 0..<outputCount {
            outputPlanes[index] = trustedPortBuffer(outputPorts[index], frames)
        }
        // The ports, counts and rate were filled in at creation.
        let position = framePosition.load(ordering: .relaxed)
        cycle.pointee.frames = frames
        cycle.pointee.frame_position = position
        cycle.pointee.jack_client = UnsafeMutableRawPointer(client)
        trustedCallProcessFunction(function, cycle, context)
        framePosition.store(position &+ UInt64(frames), ordering: .releasing)
    }
}
