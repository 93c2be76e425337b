/// Owns one `~Copyable` value at a stable address, for state shared with the
/// JACK process thread.
///
/// The control side keeps the box (a class, reference counted as usual); the
/// real-time side is handed ``pointer`` and touches the value only through it,
/// so the process callback never retains or releases anything. The value is
/// destroyed when the box is released: the owner must make sure the real-time
/// side has stopped using the pointer first (see `JackEngine`'s slot
/// reclamation).
///
/// Thread safety: ``pointer`` may be read from any thread; what the value
/// allows concurrently is the value's own contract.
public final class RealtimeBox<Value: ~Copyable>: @unchecked Sendable {
    /// The value's address, stable for the lifetime of the box.
    public let pointer: UnsafeMutablePointer<Value>

    /// Moves `value` into newly allocated memory. Control path (allocates).
    public init(_ value: consuming Value) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: value)
    }

    deinit {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
