import AudioGraph
import CProcessCycle
import Synchronization

/// An in-callback stream in the simulated graph: its function is called once
/// per cycle with the stream's port buffers, as JACK's process callback would.
///
/// Thread safety: ``setRunning(_:)``, ``framePosition`` and ``uninstall()``
/// from any thread; ``process(frames:)`` under the engine's lock only.
final class SimulatedCallback: InstalledCallback, @unchecked Sendable {
    private weak var engine: SimulatedAudioEngine?
    private let inputs: UnsafeMutablePointer<UnsafePointer<Float>>
    private let outputs: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    private let inputCount: Int
    private let outputCount: Int
    private let sampleRate: Int
    private let function: wasapi_jack_process_function
    private let context: UnsafeMutableRawPointer?
    private let running = Atomic<Bool>(false)
    private let position = Atomic<UInt64>(0)

    init(engine: SimulatedAudioEngine, inputs: [EnginePort], outputs: [EnginePort], sampleRate: Int,
         function: wasapi_jack_process_function, context: UnsafeMutableRawPointer?) {
        self.engine = engine
        inputCount = inputs.count
        outputCount = outputs.count
        self.inputs = .allocate(capacity: max(inputs.count, 1))
        self.inputs.initialize(from: inputs.map { UnsafePointer($0.handle.assumingMemoryBound(to: Float.self)) },
                               count: inputs.count)
        self.outputs = .allocate(capacity: max(outputs.count, 1))
        self.outputs.initialize(from: outputs.map { $0.handle.assumingMemoryBound(to: Float.self) }, count: outputs.count)
        self.sampleRate = sampleRate
        self.function = function
        self.context = context
    }

    deinit {
        inputs.deallocate()
        outputs.deallocate()
    }

    @discardableResult
    func setRunning(_ running: Bool) -> Bool {
        self.running.store(running, ordering: .releasing)
        return running || engine?.waitForCyclesInFlight() ?? true
    }

    var framePosition: UInt64 { position.load(ordering: .acquiring) }

    func uninstall() { engine?.withdraw(self) }

    /// One cycle: the function, or silence on the outputs while stopped.
    func process(frames: Int) {
        guard running.load(ordering: .acquiring) else {
            for index in 0..<outputCount { outputs[index].update(repeating: 0, count: frames) }
            return
        }
        var cycle = wasapi_jack_cycle(
            frames: UInt32(frames), input_count: UInt32(inputCount), output_count: UInt32(outputCount),
            sample_rate: UInt32(sampleRate),
            inputs: inputCount == 0 ? nil : UnsafePointer(inputs),
            outputs: outputCount == 0 ? nil : UnsafePointer(outputs),
            frame_position: position.load(ordering: .relaxed), jack_client: nil)
        function(&cycle, context)
        position.add(UInt64(frames), ordering: .releasing)
    }
}
