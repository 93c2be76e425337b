import Synchronization

/// A fixed number of 64-bit words that one writer publishes together and any
/// number of readers load as a consistent set: a sequence lock.
///
/// Used for the cycle clock, which JACK's process thread publishes once per
/// period and `IAudioClock` readers on any thread load. The writer never waits;
/// a reader retries only while a write is in progress (a few nanoseconds).
///
/// Thread safety: one writer at a time (``beginWrite()``, ``storeWord(_:_:)``,
/// ``endWrite()``, all `@_noLocks`, safe in the process callback); any number of concurrent readers (``load(into:)``).
/// Every word is itself an atomic, so a torn read is detected, never undefined.
public struct SeqlockCell: ~Copyable, @unchecked Sendable {
    /// Words per snapshot.
    public let wordCount: Int
    private let sequence = Atomic<UInt64>(0)
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    /// Creates a cell of `wordCount` zero words. Control path (allocates).
    public init(wordCount: Int) {
        precondition(wordCount > 0, "SeqlockCell needs at least one word")
        self.wordCount = wordCount
        words = .allocate(capacity: wordCount)
        for index in 0..<wordCount { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: wordCount)
        words.deallocate()
    }

    /// Starts a write: readers retry until ``endWrite()``. Writer only; `@_noLocks`.
    @_noLocks
    public func beginWrite() {
        let current = sequence.load(ordering: .relaxed)
        sequence.store(current &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
    }

    /// Stores word `index` of the snapshot being written. Writer only, between
    /// ``beginWrite()`` and ``endWrite()``; `@_noLocks`.
    @_noLocks
    public func storeWord(_ index: Int, _ value: UInt64) {
        words[index].store(value, ordering: .relaxed)
    }

    /// Publishes the snapshot written since ``beginWrite()``. Writer only; `@_noLocks`.
    @_noLocks
    public func endWrite() {
        let current = sequence.load(ordering: .relaxed)
        sequence.store(current &+ 1, ordering: .releasing)
    }

    /// Copies the newest complete snapshot into `values` (``wordCount`` words)
    /// and returns how many snapshots have been published so far (0: none yet).
    /// Any thread; spins only while a store is in progress.
    @_noLocks @discardableResult
    public func load(into values: UnsafeMutableBufferPointer<UInt64>) -> UInt64 {
        while true {
            let before = sequence.load(ordering: .acquiring)
            if before & 1 != 0 { continue }
            for index in 0..<wordCount {
                values[index] = words[index].load(ordering: .relaxed)
            }
            atomicMemoryFence(ordering: .acquiring)
            if sequence.load(ordering: .relaxed) == before { return before / 2 }
        }
    }
}
