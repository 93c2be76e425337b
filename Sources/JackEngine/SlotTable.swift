import Synchronization

/// A table of slot pointers that the process callback walks each cycle, with
/// no fixed limit: when every index is taken, a control thread builds a table
/// twice as large, copies the entries and publishes it in one pointer store.
///
/// A control thread publishes a slot by storing its pointer (release) and
/// withdraws it by storing nil; freeing the slot is safe only after every cycle
/// that may have loaded the old pointer has finished (see
/// ``ProcessGraph/waitForCyclesInFlight(timeoutMilliseconds:isRunning:)``).
/// A table replaced by a larger one is handed back by ``publish(_:)`` as
/// retired: the cycle running now may still walk it, so the caller frees it
/// (``SlotTable/free(_:)``) only after that same wait.
///
/// An index stays taken from ``publish(_:)`` until ``release(at:)``, not
/// only until ``withdraw(at:)``: a slot published at an index still being
/// withdrawn would be the one its withdrawer then frees.
///
/// Thread safety: ``publish(_:)``, ``withdraw(at:)`` and ``release(at:)`` on
/// control threads, serialised by the caller; ``current()`` and the
/// ``Entries`` it returns (``Entries/end()``, ``Entries/entry(at:)``) on the
/// process thread.
struct SlotTable: ~Copyable {
    /// One generation of the table: its entries and how far they are used.
    struct Entries: ~Copyable {
        /// Entries in this generation.
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

        /// One past the last index the process callback needs to look at.
        @_noLocks
        func end() -> Int { highWater.load(ordering: .acquiring) }

        /// The slot at `index`, or nil. Process thread.
        @_noLocks
        func entry(at index: Int) -> UnsafeMutableRawPointer? {
            entries[index].load(ordering: .acquiring)
        }

        /// Takes `index` and stores `slot` there (release), extending the
        /// high-water mark. Control side.
        func take(_ index: Int, for slot: UnsafeMutableRawPointer?) {
            taken[index] = true
            entries[index].store(slot, ordering: .releasing)
            if index >= highWater.load(ordering: .relaxed) {
                highWater.store(index + 1, ordering: .releasing)
            }
        }

        /// Clears the entry at `index`; the index stays taken. Control side.
        func clear(_ index: Int) { entries[index].store(nil, ordering: .releasing) }

        /// Frees `index` for another slot. Control side.
        func free(_ index: Int) { taken[index] = false }

        func isTaken(_ index: Int) -> Bool { taken[index] }

        /// The first index not taken, if any. Control side.
        func firstFree() -> Int? { (0..<capacity).first { !taken[$0] } }
    }

    /// The generation the process thread walks.
    private let table: Atomic<UnsafeMutablePointer<Entries>>

    /// A table with room for `initialCapacity` slots before it first grows.
    init(initialCapacity: Int) {
        table = Atomic(Self.allocate(capacity: max(initialCapacity, 1)))
    }

    deinit { Self.free(table.load(ordering: .acquiring)) }

    /// Indices the current generation holds (it grows on demand).
    var capacity: Int { table.load(ordering: .acquiring).pointee.capacity }

    /// Stores `slot` at an index not taken and returns the index. When every
    /// index is taken, a table twice as large takes the table's place; the old
    /// one is returned as `retired`, for the caller to free once the cycle in
    /// flight is over. Control side; allocates when it grows.
    func publish(_ slot: UnsafeMutableRawPointer) -> (index: Int, retired: UnsafeMutablePointer<Entries>?) {
        let old = table.load(ordering: .relaxed)
        if let index = old.pointee.firstFree() {
            old.pointee.take(index, for: slot)
            return (index, nil)
        }
        let grown = Self.allocate(capacity: old.pointee.capacity * 2)
        for index in 0..<old.pointee.capacity where old.pointee.isTaken(index) {
            grown.pointee.take(index, for: old.pointee.entry(at: index))
        }
        let index = old.pointee.capacity
        grown.pointee.take(index, for: slot)
        // Release: a cycle that loads the new table sees every entry stored above.
        table.store(grown, ordering: .releasing)
        return (index, old)
    }

    /// Clears the entry at `index`; the cycle running now may still use the
    /// slot. The index stays taken until ``release(at:)``.
    func withdraw(at index: Int) {
        table.load(ordering: .relaxed).pointee.clear(index)
    }

    /// Frees `index` for another slot, once no cycle can use the withdrawn one.
    func release(at index: Int) {
        table.load(ordering: .relaxed).pointee.free(index)
    }

    /// The generation to walk for this cycle. Process thread.
    @_noLocks
    func current() -> UnsafeMutablePointer<Entries> { table.load(ordering: .acquiring) }

    /// Frees a generation that ``publish(_:)`` retired, once no cycle can walk it.
    static func free(_ entries: UnsafeMutablePointer<Entries>) {
        entries.deinitialize(count: 1)
        entries.deallocate()
    }

    private static func allocate(capacity: Int) -> UnsafeMutablePointer<Entries> {
        let entries = UnsafeMutablePointer<Entries>.allocate(capacity: 1)
        entries.initialize(to: Entries(capacity: capacity))
        return entries
    }
}
