import CSampleRate

// The libsamplerate calls the real-time path makes, one wrapper per function,
// so that each can be checked against the library's documentation.
// `_unsafePerformance` tells the `@_noLocks` checker to trust the call; nothing
// else may be placed inside these wrappers.

/// `src_process`: converts the frames described by `data` with the state's
/// filter. It works in buffers `src_new` allocated and makes no allocation,
/// lock or system call (libsamplerate 0.2; a malloc-counting run here saw none
/// in 2,000 calls per converter, shared/REALTIME_SWIFT.md).
@_noLocks @inline(__always)
func trustedSourceProcess(_ state: OpaquePointer, _ data: inout SRC_DATA) -> Int32 {
    _unsafePerformance { src_process(state, &data) }
}
