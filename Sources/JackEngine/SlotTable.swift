import Synchronization

/// A fixed table of slot pointers that the process callback walks each cycle.
///
/// A control thread publishes a slot by storing its pointer (release) and
/// withdraws it by storing nil; freeing the slot is safe only after every cycle
/// that may have loaded the old pointer has finished (see
/// ``ProcessGraph/waitForCyclesInFlight(timeoutMilliseconds:isRunning:)``).
///
/// An index stays taken from ``publish(_:)`` until ``release(at:)``, not
/// only until ``withdraw(at:)``: a slot published at an index still being
/// withdrawn would be the one its withdrawer then frees.
///
/// Thread safety: ``publish(_:)``, ``withdraw(at:)`` and ``release(at:)`` on
/// control threads, serialised by the caller; ``entry(at:)`` and ``end`` on
/// the process thread.
struct SlotTable: ~Copyable {
    /// Entries in the table: the most slots of this kind one process can run.
    let capacity: Int
    private let entries: UnsafeMutablePointer<Atomic<UnsafeMutableRawPointer?>>
    /// Which indices are taken (published, or withdrawn and not yet
    /// released). Control side only.
    private let taken: UnsafeMutablePointer<Bool>
    /// One past the highest index ever used, so the callback scans no further.
    private let highWater = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = capacity
        entries = .allocate(capacity: capacity)
        for index in 0..<capacity { (entries + index).initialize(to: Atomic(nil)) }
        taken = .allocate(capacity: capacity)
        taken.initialize(repeating: false, count: capacity)
    }

    deinit {
        entries.deinitialize(count: capacity)
        entries.deallocate()
        taken.deallocate()
    }

    /// Stores `slot` in a free entry and returns its index, or nil when full.
    func publish(_ slot: UnsafeMutableRawPointer) -> Int? {
        for index in 0..<capacity where !taken[index] {
            taken[index] = true
            entries[index].store(slot, ordering: .releasing)
            if index >= highWater.load(ordering: .relaxed) {
                highWater.store(index + 1, ordering: .releasing)
            }
            return index
        }
        return nil
    }

    /// Clears the entry at `index`; the cycle running now may still use the
    /// slot. The index stays taken until ``release(at:)``.
    func withdraw(at index: Int) {
        entries[index].store(nil, ordering: .releasing)
    }

    /// Frees `index` for another slot, once no cycle can use the withdrawn one.
    func release(at index: Int) {
        taken[index] = false
    }

    /// One past the last index the process callback needs to look at.
    @_noLocks
    func end() -> Int { highWater.load(ordering: .acquiring) }

    /// The slot at `index`, or nil. Process thread.
    @_noLocks
    func entry(at index: Int) -> UnsafeMutableRawPointer? {
        entries[index].load(ordering: .acquiring)
    }
}
