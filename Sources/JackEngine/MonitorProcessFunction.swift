import CProcessCycle
import Realtime

/// A ready-made process function for an in-callback stream: a pass-through
/// monitor. Output channel `k` carries input channel `k % inputCount` (so a
/// mono input feeds every output), in the same cycle, sample for sample;
/// with no inputs the outputs carry silence. The context is not used.
///
/// Real-time safe: two trusted C calls per channel (`memcpy`, `memset`).
public let monitorProcessFunction: ProcessFunction = { cycle, _ in copyInputsToOutputs(cycle) }

@_noLocks
func copyInputsToOutputs(_ cycle: UnsafePointer<wasapi_jack_cycle>) {
    let frames = Int(cycle.pointee.frames)
    let inputCount = Int(cycle.pointee.input_count)
    guard let outputs = cycle.pointee.outputs else { return }
    for channel in 0..<Int(cycle.pointee.output_count) {
        if let inputs = cycle.pointee.inputs, inputCount > 0 {
            trustedMemcpy(outputs[channel], inputs[channel % inputCount], frames &* 4)
        } else {
            trustedZero(outputs[channel], frames &* 4)
        }
    }
}
