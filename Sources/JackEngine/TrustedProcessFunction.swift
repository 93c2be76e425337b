import AudioGraph
import CProcessCycle

/// Calls an in-callback stream's process function. The optimizer cannot see
/// through a C function pointer, so the call is trusted on the strength of
/// the contract ``InCallbackStream`` documents (like JACK's own process
/// callback): the function must not allocate, lock, block or call JACK's
/// non-real-time API.
@_noLocks @inline(__always)
func trustedCallProcessFunction(_ function: ProcessFunction, _ cycle: UnsafePointer<wasapi_jack_cycle>,
                                _ context: UnsafeMutableRawPointer?) {
    _unsafePerformance { function(cycle, context) }
}
