import CProcessCycle
import Realtime

/// The process function of an in-callback stream: runs on the engine's
/// real-time thread, once per cycle, on the stream's own port buffers.
public typealias ProcessFunction = wasapi_jack_process_function

/// A ready-made process function for an in-callback stream: a pass-through
/// monitor. Output channel `k` carries input channel `k % inputCount` (so a
/// mono input feeds every output), in the same cycle, sample for sample;
/// with no inputs the outputs carry silence. The context is not used.
///
/// Real-time safe: two trusted C calls per channel (`memcpy`, `memset`).
/// JACK's `CallbackSlot` given this function does not call it: it recognises it
/// and does the same copy straight between the port buffers. The function
/// still does the copy when called, for instance from another process
/// function.
public let monitorProcessFunction: ProcessFunction = { cycle, _ in copyInputsToOutputs(cycle) }

@_noLocks
func copyInputsToOutputs(_ cycle: UnsafePointer<wasapi_jack_cycle>) {
    let bytes = Int(cycle.pointee.frames) &* 4
    let inputCount = Int(cycle.pointee.input_count)
    let outputCount = Int(cycle.pointee.output_count)
    guard let outputs = cycle.pointee.outputs else { return }
    guard let inputs = cycle.pointee.inputs, inputCount > 0 else {
        for channel in 0..<outputCount { trustedZero(outputs[channel], bytes) }
        return
    }
    // Input k to output k; past the last input, wrap around (no division
    // per channel in the common case of as many inputs as outputs).
    var source = 0
    for channel in 0..<outputCount {
        trustedMemcpy(outputs[channel], inputs[source], bytes)
        source &+= 1
        if source == inputCount { source = 0 }
    }
}
