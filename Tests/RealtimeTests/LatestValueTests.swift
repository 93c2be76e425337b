import Realtime
import Testing

/// Words in the multi-word snapshots of the concurrent tests.
private let snapshotWords = 8
/// Snapshots the writer publishes in the concurrent tests.
private let publications: UInt64 = 200_000

/// What a reader thread saw while a writer published snapshots 1...publications.
private struct ReaderFindings: Sendable, Equatable {
    /// Snapshots whose words were not all equal.
    var torn = 0
    /// Snapshots older than one already seen.
    var backwards = 0
    /// Whether the last publication was seen.
    var sawLast = false
}

/// Reads until the value `publications` shows up, or until a read that began
/// after the writer finished still misses it. `read` returns the snapshot's
/// words; `isConsistent` says whether they form one publication.
private func watch(writerDone: SharedFlag, read: () -> (newest: UInt64, isConsistent: Bool)) -> ReaderFindings {
    var findings = ReaderFindings()
    var latest: UInt64 = 0
    while true {
        let writerFinished = writerDone.isRaised
        let snapshot = read()
        if !snapshot.isConsistent { findings.torn += 1 }
        if snapshot.newest < latest { findings.backwards += 1 }
        latest = max(latest, snapshot.newest)
        if latest == publications { findings.sawLast = true }
        if findings.sawLast || writerFinished { return findings }
    }
}

/// A LatestValue holding a copy of `bytes` (an array's `withUnsafeBytes`
/// cannot return a `~Copyable` value, so the bytes go through scratch memory).
private func latestValue(initial bytes: [UInt8]) -> LatestValue {
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
    defer { scratch.deallocate() }
    scratch.copyBytes(from: bytes)
    return LatestValue(initial: UnsafeRawBufferPointer(scratch))
}

@Suite("LatestValue", .timeLimit(.minutes(15)))
struct LatestValueTests {
    @Test("a reader sees the initial bytes, then the newest publication")
    func publishAndRead() {
        let initial: [UInt8] = [1, 2, 3, 4, 5]
        let cell = latestValue(initial: initial)
        #expect(cell.byteCount == 5)
        #expect(Array(cell.read()) == initial)

        for update: [UInt8] in [[10, 20, 30, 40, 50], [6, 7, 8, 9, 10], [0, 0, 0, 0, 1]] {
            update.withUnsafeBytes { cell.publish($0) }
        }
        #expect(Array(cell.read()) == [0, 0, 0, 0, 1])
        // With nothing new published, the reader keeps the same snapshot.
        #expect(Array(cell.read()) == [0, 0, 0, 0, 1])

        [UInt8]([9, 9, 9, 9, 9]).withUnsafeBytes { cell.publish($0) }
        #expect(Array(cell.read()) == [9, 9, 9, 9, 9])
    }

    @Test("float snapshots: repeating initialiser, publish(floats:) and readFloats")
    func floats() {
        let volumes = LatestValue(repeating: 1, count: 3)
        #expect(volumes.byteCount == 12)
        #expect(Array(volumes.readFloats()) == [1, 1, 1])
        volumes.publish(floats: [0.25, 0.5, -1])
        #expect(Array(volumes.readFloats()) == [0.25, 0.5, -1])
        #expect(LatestValue(repeating: 0.5, count: 0).byteCount == 4)
    }

    @Test("a concurrent reader never sees a torn or older snapshot")
    func concurrentSnapshots() {
        let box = RealtimeBox(latestValue(initial: [UInt8](repeating: 0, count: snapshotWords * 8)))
        let writerDone = SharedFlag()
        let findings = Locked(ReaderFindings())
        runOnThreads([
            {
                var words = [UInt64](repeating: 0, count: snapshotWords)
                for value in 1...publications {
                    for index in words.indices { words[index] = value }
                    words.withUnsafeBytes { box.pointer.pointee.publish($0) }
                }
                writerDone.raise()
            },
            {
                findings.set(watch(writerDone: writerDone) {
                    let words = box.pointer.pointee.read().bindMemory(to: UInt64.self)
                    return (words[0], words.allSatisfy { $0 == words[0] })
                })
            },
        ])
        #expect(findings.value == ReaderFindings(torn: 0, backwards: 0, sawLast: true))
    }
}

@Suite("AtomicFloat", .timeLimit(.minutes(15)))
struct AtomicFloatTests {
    @Test("stores and loads keep the exact bit pattern")
    func storeAndLoad() {
        let cell = AtomicFloat(0.75)
        #expect(cell.load() == 0.75)
        for value: Float in [-0.0, 1, -3.5, .infinity, .leastNonzeroMagnitude, Float(nan: 0x1234, signaling: false)] {
            cell.store(value)
            #expect(cell.load().bitPattern == value.bitPattern)
        }
    }

    @Test("a concurrent reader sees only stored values, never going back")
    func concurrentStores() {
        let box = RealtimeBox(AtomicFloat(0))
        let writerDone = SharedFlag()
        let findings = Locked(ReaderFindings())
        runOnThreads([
            {
                // Whole numbers up to 2^24 are exact floats.
                for value in 1...publications { box.pointer.pointee.store(Float(value)) }
                writerDone.raise()
            },
            {
                findings.set(watch(writerDone: writerDone) {
                    let value = box.pointer.pointee.load()
                    let isStored = value == value.rounded() && value >= 0 && value <= Float(publications)
                    return (isStored ? UInt64(value) : 0, isStored)
                })
            },
        ])
        #expect(findings.value == ReaderFindings(torn: 0, backwards: 0, sawLast: true))
    }
}

@Suite("SeqlockCell", .timeLimit(.minutes(15)))
struct SeqlockCellTests {
    @Test("a fresh cell loads zeros and count 0; each write is loaded whole with its count")
    func writeAndLoad() {
        let cell = SeqlockCell(wordCount: 3)
        #expect(cell.wordCount == 3)
        var loaded = [UInt64](repeating: 7, count: 3)
        #expect(loaded.withUnsafeMutableBufferPointer { cell.load(into: $0) } == 0)
        #expect(loaded == [0, 0, 0])

        cell.beginWrite()
        cell.storeWord(0, 11)
        cell.storeWord(1, 22)
        cell.storeWord(2, 33)
        cell.endWrite()
        #expect(loaded.withUnsafeMutableBufferPointer { cell.load(into: $0) } == 1)
        #expect(loaded == [11, 22, 33])

        cell.beginWrite()
        cell.storeWord(1, 44)
        cell.endWrite()
        #expect(loaded.withUnsafeMutableBufferPointer { cell.load(into: $0) } == 2)
        #expect(loaded == [11, 44, 33])
    }

    @Test("concurrent readers never see a torn snapshot, and its count matches its contents")
    func concurrentReaders() {
        let box = RealtimeBox(SeqlockCell(wordCount: snapshotWords))
        let writerDone = SharedFlag()
        let findings = Locked([ReaderFindings]())
        let reader: @Sendable () -> Void = {
            var words = [UInt64](repeating: 0, count: snapshotWords)
            let seen = watch(writerDone: writerDone) {
                // The n-th publication stores n in every word.
                let count = words.withUnsafeMutableBufferPointer { box.pointer.pointee.load(into: $0) }
                return (count, words.allSatisfy { $0 == count })
            }
            findings.update { $0.append(seen) }
        }
        runOnThreads([
            {
                let cell = box.pointer
                for value in 1...publications {
                    cell.pointee.beginWrite()
                    for index in 0..<snapshotWords { cell.pointee.storeWord(index, value) }
                    cell.pointee.endWrite()
                }
                writerDone.raise()
            },
            reader,
            reader,
        ])
        let expected = ReaderFindings(torn: 0, backwards: 0, sawLast: true)
        #expect(findings.value == [expected, expected])
    }
}

@Suite("Thread roles (debug builds)", .timeLimit(.minutes(15)))
struct ThreadRoleTests {
    #if DEBUG
    @Test("a LatestValue read from a second thread traps: its reader is one thread for life")
    func secondReaderTraps() async {
        await #expect(processExitsWith: .failure) {
            let box = RealtimeBox(LatestValue(repeating: 1, count: 2))
            _ = box.pointer.pointee.readFloats()
            // The same thread may read again; another thread may not.
            _ = box.pointer.pointee.readFloats()
            runOnThreads([{ _ = box.pointer.pointee.readFloats() }])
        }
    }

    @Test("the first reader thread may keep reading, a writer may move between threads")
    func oneReaderMovingWriters() {
        let box = RealtimeBox(LatestValue(repeating: 1, count: 2))
        runOnThreads([{ box.pointer.pointee.publish(floats: [0.5, 0.5]) }])
        runOnThreads([{ box.pointer.pointee.publish(floats: [0.25, 0.25]) }])
        #expect(Array(box.pointer.pointee.readFloats()) == [0.25, 0.25])
        #expect(Array(box.pointer.pointee.readFloats()) == [0.25, 0.25])
    }

    @Test("two overlapping calls of a moving role trap")
    func overlappingCallsTrap() async {
        await #expect(processExitsWith: .failure) {
            let role = ThreadRole()
            role.enter("test side")
            role.enter("test side")
        }
    }
    #endif
}
