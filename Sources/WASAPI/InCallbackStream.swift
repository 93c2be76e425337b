@_exported import CProcessCycle
import AudioGraph
import Realtime
import Synchronization

/// Beyond WASAPI: a stream whose process function runs inside JACK's process
/// callback, on the stream's own port buffers, with nothing buffered in
/// between. A capture-to-render monitor built on it has exactly JACK's own
/// round-trip latency (see docs/ARCHITECTURE.md, "In-callback streams").
///
/// The stream has `inputChannels` JACK input ports and `outputChannels`
/// output ports, named `NAME.N.in_K` / `NAME.N.out_K` on this process's JACK
/// client, visible and routable in any patchbay.
///
/// ## The process function's contract
/// As jack.h says of JACK's own process callback, the function runs on a
/// real-time thread and must not allocate memory, take a lock, block, wait,
/// print, or call any JACK function that is not real-time safe; a Swift
/// function used as one must not capture state, retain or release objects,
/// or use generics or existentials (write it `@_noLocks` and build in release
/// to have the compiler check). Per cycle it receives a ``ProcessCycle``: it
/// reads `inputs`, must fill every one of `outputs` for `frames` frames, and
/// must return well within the period. `context` is passed through untouched
/// and must stay valid until the stream is released.
///
/// Thread safety: every method may be called from any thread except JACK's.
/// The process function runs only on JACK's process thread, never
/// concurrently with itself; it does not run before ``start()`` or after
/// ``stop()`` returns true.
public final class InCallbackStream: @unchecked Sendable {
    /// The function type: `(cycle, context) -> Void`, a C function pointer.
    public typealias Function = ProcessFunction

    /// A pass-through monitor: output `k` plays input `k % inputs`.
    public static let monitor: Function = monitorProcessFunction

    /// Full names of the input ports, in channel order.
    public let inputPortNames: [String]
    /// Full names of the output ports, in channel order.
    public let outputPortNames: [String]

    private let engine: any AudioEngine
    private let ports: [EnginePort]
    private let installed: any InstalledCallback

    /// A stream with `inputChannels` inputs and `outputChannels` outputs,
    /// not connected to anything, not yet started.
    /// - Throws: E_INVALIDARG when both counts are 0 or one is negative or
    ///   above 64; AUDCLNT_E_DEVICE_INVALIDATED when the server is gone.
    public init(enumerator: MMDeviceEnumerator, inputChannels: Int, outputChannels: Int,
                name: String = "callback", process: Function, context: UnsafeMutableRawPointer? = nil) throws(AudioError) {
        guard (0...64).contains(inputChannels), (0...64).contains(outputChannels),
              inputChannels + outputChannels > 0 else {
            throw AudioError(.E_INVALIDARG, "an in-callback stream takes 0...64 inputs and outputs, not both 0 "
                             + "(got \(inputChannels) in, \(outputChannels) out)")
        }
        let engine = enumerator.engine
        self.engine = engine
        let number = Self.streamCounter.add(1, ordering: .relaxed).newValue
        var inputs: [EnginePort] = [], outputs: [EnginePort] = []
        do {
            for channel in 0..<inputChannels {
                inputs.append(try engine.registerPort("\(name).\(number).in_\(channel + 1)", direction: .input, prettyName: nil))
            }
            for channel in 0..<outputChannels {
                outputs.append(try engine.registerPort("\(name).\(number).out_\(channel + 1)", direction: .output, prettyName: nil))
            }
        } catch {
            (inputs + outputs).forEach(engine.unregister)
            throw AudioError(error)
        }
        ports = inputs + outputs
        inputPortNames = inputs.map(\.name)
        outputPortNames = outputs.map(\.name)
        do {
            installed = try engine.installCallback(inputs: inputs, outputs: outputs, function: process, context: context)
        } catch {
            ports.forEach(engine.unregister)
            throw AudioError(error)
        }
    }

    /// A stream on endpoints: one input per channel of `capture`, one output
    /// per channel of `render` (either may be nil), connected to them unless
    /// `autoConnect` is false.
    /// - Throws: E_INVALIDARG when both are nil or a device has the wrong
    ///   data flow; AUDCLNT_E_DEVICE_INVALIDATED when one is not present.
    public convenience init(enumerator: MMDeviceEnumerator, capture: MMDevice?, render: MMDevice?,
                            autoConnect: Bool = true, name: String = "monitor",
                            process: Function, context: UnsafeMutableRawPointer? = nil) throws(AudioError) {
        let captureEndpoint = try Self.endpoint(capture, expected: .capture)
        let renderEndpoint = try Self.endpoint(render, expected: .render)
        try self.init(enumerator: enumerator, inputChannels: captureEndpoint?.channelCount ?? 0,
                      outputChannels: renderEndpoint?.channelCount ?? 0,
                      name: name, process: process, context: context)
        guard autoConnect else { return }
        try connectInputs(from: captureEndpoint?.ports ?? [])
        try connectOutputs(to: renderEndpoint?.ports ?? [])
    }

    deinit {
        installed.uninstall()
        ports.forEach(engine.unregister)
    }

    /// Connects `sources[k]` to input `k` (extra names on either side are ignored).
    /// - Throws: E_INVALIDARG naming a port JACK would not connect.
    public func connectInputs(from sources: [String]) throws(AudioError) {
        for (source, input) in zip(sources, inputPortNames) { try connect(source, input) }
    }

    /// Connects output `k` to `destinations[k]` (extra names on either side are ignored).
    public func connectOutputs(to destinations: [String]) throws(AudioError) {
        for (output, destination) in zip(outputPortNames, destinations) { try connect(output, destination) }
    }

    /// Runs the process function from the next cycle on.
    public func start() {
        installed.setRunning(true)
    }

    /// Stops calling the process function (outputs carry silence) and returns
    /// once no cycle can still be calling it: within about one period.
    /// - Returns: true once no cycle can call the function any more; false
    ///   when the engine's cycles are stuck (JACK: a cycle still in flight
    ///   after a bounded wait of 1 s). Then the function may still be
    ///   running: keep its `context` alive (leak it rather than free it).
    @discardableResult
    public func stop() -> Bool {
        installed.setRunning(false)
    }

    /// Frames the process function has been called for.
    public var framePosition: UInt64 { installed.framePosition }

    /// The JACK period, which is also the stream's whole latency contribution: none.
    public var periodFrames: Int { engine.bufferSize }

    private func connect(_ source: String, _ destination: String) throws(AudioError) {
        do {
            try engine.connect(source, to: destination)
        } catch {
            throw AudioError(.E_INVALIDARG, "cannot connect \(source) to \(destination): \(error)")
        }
    }

    private static func endpoint(_ device: MMDevice?, expected: DataFlow) throws(AudioError) -> EndpointDescriptor? {
        guard let device else { return nil }
        guard device.dataFlow == expected else {
            throw AudioError(.E_INVALIDARG, "endpoint \(device.id) is not a \(expected) endpoint")
        }
        guard device.state == .active, let descriptor = device.descriptor else {
            throw AudioError(.AUDCLNT_E_DEVICE_INVALIDATED, "endpoint \(device.id) is not present")
        }
        return descriptor
    }

    private static let streamCounter = Atomic<Int>(0)
}

/// One JACK process cycle as an in-callback stream's function receives it.
public typealias ProcessCycle = wasapi_jack_cycle
