import CJack

// Every libjack function called on JACK's process thread, wrapped one by one
// so that `@_noLocks` callers can use them and the list stays auditable.
// jack.h lists these among the functions allowed in the process callback.

/// `jack_port_get_buffer`: the port's buffer for this cycle (a pointer lookup
/// in shared memory; for an input with one connection, the source's buffer).
@_noLocks @inline(__always)
func trustedPortBuffer(_ port: OpaquePointer, _ frames: UInt32) -> UnsafeMutablePointer<Float> {
    _unsafePerformance {
        jack_port_get_buffer(port, frames).assumingMemoryBound(to: Float.self)
    }
}

/// `jack_get_cycle_times`: the frame time and microsecond times of the current
/// cycle. Process thread only, per jack.h.
@_noLocks @inline(__always)
func trustedCycleTimes(_ client: OpaquePointer) -> CycleTimes {
    _unsafePerformance {
        var times = CycleTimes()
        let status = jack_get_cycle_times(client, &times.frames, &times.microseconds,
                                          &times.nextMicroseconds, &times.periodMicroseconds)
        times.valid = status == 0
        return times
    }
}

/// The values `jack_get_cycle_times` reports.
struct CycleTimes: BitwiseCopyable {
    var frames: UInt32 = 0
    var microseconds: UInt64 = 0
    var nextMicroseconds: UInt64 = 0
    var periodMicroseconds: Float = 0
    var valid = false
}
