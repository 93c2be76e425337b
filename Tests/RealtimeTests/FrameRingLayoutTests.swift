import Realtime
import Testing

/// Byte `byte` of frame number `frame`: differs between neighbouring frames
/// and between the bytes of one frame, so a misplaced byte is caught.
private func pattern(frame: Int, byte: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: frame &* 37 &+ byte &* 11 &+ 5)
}

/// Writes frames `firstFrame...` into `bytes`.
private func fill(_ bytes: UnsafeMutableRawBufferPointer, firstFrame: Int, bytesPerFrame: Int) {
    for offset in 0..<bytes.count {
        bytes[offset] = pattern(frame: firstFrame + offset / bytesPerFrame, byte: offset % bytesPerFrame)
    }
}

/// Whether `bytes` hold exactly frames `firstFrame...`.
private func holds(_ bytes: UnsafeRawBufferPointer, firstFrame: Int, bytesPerFrame: Int) -> Bool {
    (0..<bytes.count).allSatisfy {
        bytes[$0] == pattern(frame: firstFrame + $0 / bytesPerFrame, byte: $0 % bytesPerFrame)
    }
}

/// One point of the exhaustive grid: a ring whose indices start at `start`,
/// holding `held` frames, is offered `count` frames and then asked for `count`.
private struct LayoutCase: CustomStringConvertible {
    var bytesPerFrame: Int
    var capacity: Int
    var start: Int
    var held: Int
    var count: Int
    /// acquire/commit when true, the copying `write`/`read` when false.
    var inPlace: Bool

    var description: String {
        "bytes/frame \(bytesPerFrame), capacity \(capacity), start \(start), held \(held), "
            + "count \(count), \(inPlace ? "acquire/commit" : "copy")"
    }
}

/// Scratch memory for frames going in or coming out of a ring.
private final class Scratch {
    let bytes: UnsafeMutableRawBufferPointer
    let bytesPerFrame: Int

    init(frames: Int, bytesPerFrame: Int) {
        bytes = .allocate(byteCount: frames * bytesPerFrame, alignment: 16)
        self.bytesPerFrame = bytesPerFrame
    }

    deinit { bytes.deallocate() }

    /// The first `frames` frames of the scratch memory.
    func prefix(_ frames: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: bytes[0..<frames * bytesPerFrame])
    }

    /// Fills the scratch memory with frames `firstFrame...` and returns its address.
    func source(firstFrame: Int) -> UnsafeRawPointer {
        fill(bytes, firstFrame: firstFrame, bytesPerFrame: bytesPerFrame)
        return UnsafeRawPointer(bytes.baseAddress!)
    }
}

private func checkLayout(_ c: LayoutCase, _ m: inout Mismatches) {
    let bpf = c.bytesPerFrame
    let ring = FrameRing(capacity: c.capacity, bytesPerFrame: bpf)
    let scratch = Scratch(frames: c.capacity + 2, bytesPerFrame: bpf)
    // An empty ring at index 0 hands out its whole storage as the first segment.
    let base = ring.acquireWrite(maxFrames: c.capacity).first.baseAddress!

    // Move the indices to `start` (frames are numbered by their ring index).
    m.check(ring.write(from: scratch.source(firstFrame: 0), frames: c.start), c.start, "\(c): advance write")
    m.check(ring.read(into: scratch.bytes.baseAddress!, frames: c.start), c.start, "\(c): advance read")
    m.check(ring.totalWritten(), UInt64(c.start), "\(c): totalWritten after advance")
    m.check(ring.totalRead(), UInt64(c.start), "\(c): totalRead after advance")

    m.check(ring.write(from: scratch.source(firstFrame: c.start), frames: c.held), c.held, "\(c): held frames")

    // Offer `count` frames: only the free space is taken, split at the end of the storage.
    let writeFrame = c.start + c.held
    let accepted = min(c.count, c.capacity - c.held)
    if c.inPlace {
        let region = ring.acquireWrite(maxFrames: c.count)
        let position = writeFrame % c.capacity
        let firstFrames = min(accepted, c.capacity - position)
        m.check(region.firstFrames, firstFrames, "\(c): write firstFrames")
        m.check(region.secondFrames, accepted - firstFrames, "\(c): write secondFrames")
        m.check(region.frames(), accepted, "\(c): write frames()")
        m.check(region.first.count, region.firstFrames * bpf, "\(c): write first.count")
        m.check(region.second.count, region.secondFrames * bpf, "\(c): write second.count")
        m.check(region.first.baseAddress, base + position * bpf, "\(c): write first address")
        if region.secondFrames > 0 {
            m.check(region.second.baseAddress, base, "\(c): write second address")
        }
        m.check(ring.readableFrames(), c.held, "\(c): uncommitted frames are not readable")
        fill(region.first, firstFrame: writeFrame, bytesPerFrame: bpf)
        fill(region.second, firstFrame: writeFrame + region.firstFrames, bytesPerFrame: bpf)
        ring.commitWrite(region.frames())
    } else {
        let written = ring.write(from: scratch.source(firstFrame: writeFrame), frames: c.count)
        m.check(written, accepted, "\(c): write(from:frames:) result")
    }
    let available = c.held + accepted
    m.check(ring.fillLevel(), available, "\(c): fillLevel after write")
    m.check(ring.readableFrames(), available, "\(c): readableFrames after write")
    m.check(ring.writableFrames(), c.capacity - available, "\(c): writableFrames after write")
    m.check(ring.totalWritten(), UInt64(c.start + available), "\(c): totalWritten after write")

    // Ask for `count` frames: only what is there comes back, oldest first.
    let got = min(c.count, available)
    if c.inPlace {
        let region = ring.acquireRead(maxFrames: c.count)
        let firstFrames = min(got, c.capacity - c.start)
        m.check(region.firstFrames, firstFrames, "\(c): read firstFrames")
        m.check(region.secondFrames, got - firstFrames, "\(c): read secondFrames")
        m.check(region.first.baseAddress, base + c.start * bpf, "\(c): read first address")
        if region.secondFrames > 0 {
            m.check(region.second.baseAddress, base, "\(c): read second address")
        }
        m.check(holds(UnsafeRawBufferPointer(region.first), firstFrame: c.start, bytesPerFrame: bpf)
                    && holds(UnsafeRawBufferPointer(region.second), firstFrame: c.start + region.firstFrames,
                             bytesPerFrame: bpf),
                true, "\(c): bytes in the read region")
        ring.commitRead(region.frames())
    } else {
        m.check(ring.read(into: scratch.bytes.baseAddress!, frames: c.count), got, "\(c): read(into:frames:) result")
        m.check(holds(UnsafeRawBufferPointer(scratch.prefix(got)), firstFrame: c.start, bytesPerFrame: bpf),
                true, "\(c): bytes read")
    }
    m.check(ring.fillLevel(), available - got, "\(c): fillLevel after read")
    m.check(ring.totalRead(), UInt64(c.start + got), "\(c): totalRead after read")

    // Drain the rest; the ring ends empty with both indices equal.
    let rest = ring.read(into: scratch.bytes.baseAddress!, frames: c.capacity + 2)
    m.check(rest, available - got, "\(c): drain result")
    m.check(holds(UnsafeRawBufferPointer(scratch.prefix(rest)), firstFrame: c.start + got, bytesPerFrame: bpf),
            true, "\(c): bytes drained")
    m.check(ring.fillLevel(), 0, "\(c): fillLevel after drain")
    m.check(ring.writableFrames(), c.capacity, "\(c): writableFrames after drain")
    m.check(ring.totalRead(), ring.totalWritten(), "\(c): indices after drain")
}

@Suite("FrameRing layout", .timeLimit(.minutes(15)))
struct FrameRingLayoutTests {
    @Test("every capacity 1...8, start offset, fill and request size: segments, levels and bytes",
          arguments: [1, 3, 8])
    func exhaustiveLayout(bytesPerFrame: Int) {
        var mismatches = Mismatches()
        var cases = 0
        for capacity in 1...8 {
            for start in 0..<capacity {
                for held in 0...capacity {
                    for count in 0...(capacity + 2) {
                        for inPlace in [false, true] {
                            checkLayout(LayoutCase(bytesPerFrame: bytesPerFrame, capacity: capacity, start: start,
                                                   held: held, count: count, inPlace: inPlace), &mismatches)
                            cases += 1
                        }
                    }
                }
            }
        }
        #expect(cases == 4440)
        #expect(mismatches.descriptions.count == 0, "first mismatches:\n\(mismatches.summary())")
    }

    @Test("a partial commit publishes only the committed frames")
    func partialCommit() {
        let ring = FrameRing(capacity: 5, bytesPerFrame: 2)
        let region = ring.acquireWrite(maxFrames: 4)
        #expect(region.frames() == 4)
        fill(region.first, firstFrame: 0, bytesPerFrame: 2)
        ring.commitWrite(2)
        #expect(ring.readableFrames() == 2)
        #expect(ring.writableFrames() == 3)

        let read = ring.acquireRead(maxFrames: 5)
        #expect(read.frames() == 2)
        #expect(holds(UnsafeRawBufferPointer(read.first), firstFrame: 0, bytesPerFrame: 2))
        ring.commitRead(1)
        #expect(ring.fillLevel() == 1)
        #expect(ring.totalRead() == 1)
        #expect(ring.acquireRead(maxFrames: 5).first.first == pattern(frame: 1, byte: 0))
    }

    @Test("negative requests give empty regions and move nothing")
    func negativeRequests() {
        let ring = FrameRing(capacity: 4, bytesPerFrame: 1)
        var byte: UInt8 = 9
        #expect(ring.acquireWrite(maxFrames: -3).frames() == 0)
        #expect(ring.write(from: &byte, frames: -1) == 0)
        #expect(ring.acquireRead(maxFrames: -3).frames() == 0)
        #expect(ring.read(into: &byte, frames: -1) == 0)
        #expect(ring.totalWritten() == 0 && ring.totalRead() == 0)
    }

    @Test("indices run free past the capacity while the contents stay in order")
    func freeRunningIndices() {
        let ring = FrameRing(capacity: 3, bytesPerFrame: 8)
        for value in UInt64(0)..<1000 {
            var frames = (2 * value, 2 * value + 1)
            #expect(withUnsafeBytes(of: &frames) { ring.write(from: $0.baseAddress!, frames: 2) } == 2)
            var out: (UInt64, UInt64) = (0, 0)
            #expect(withUnsafeMutableBytes(of: &out) { ring.read(into: $0.baseAddress!, frames: 2) } == 2)
            #expect(out == frames)
        }
        #expect(ring.totalWritten() == 2000)
        #expect(ring.totalRead() == 2000)
        #expect(ring.fillLevel() == 0)
    }

    @Test("shortfalls are counted by noteUnderrun and noteOverrun, apart from the indices")
    func underrunAndOverrunCounters() {
        let ring = FrameRing(capacity: 4, bytesPerFrame: 4)
        let scratch = Scratch(frames: 6, bytesPerFrame: 4)

        // A producer offers 6 frames and 4 fit: it records an overrun of 2.
        let offered = 6
        let written = ring.write(from: scratch.source(firstFrame: 0), frames: offered)
        #expect(written == 4)
        ring.noteOverrun(frames: offered - written)
        // A consumer wants 7 frames and finds 4: it records an underrun of 3.
        let wanted = 7
        let read = ring.read(into: scratch.bytes.baseAddress!, frames: wanted)
        #expect(read == 4)
        ring.noteUnderrun(frames: wanted - read)

        #expect(ring.overrunFrames() == 2)
        #expect(ring.underrunFrames() == 3)
        // Zero and negative shortfalls count nothing; counts accumulate.
        ring.noteOverrun(frames: 0)
        ring.noteOverrun(frames: -5)
        ring.noteUnderrun(frames: 0)
        ring.noteUnderrun(frames: -5)
        ring.noteUnderrun(frames: 10)
        #expect(ring.overrunFrames() == 2)
        #expect(ring.underrunFrames() == 13)
        #expect(ring.totalWritten() == 4 && ring.totalRead() == 4)
    }

    @Test("reset empties the ring and zeroes indices and counters")
    func reset() {
        let ring = FrameRing(capacity: 5, bytesPerFrame: 3)
        let scratch = Scratch(frames: 5, bytesPerFrame: 3)
        let base = ring.acquireWrite(maxFrames: 5).first.baseAddress!
        _ = ring.write(from: scratch.source(firstFrame: 0), frames: 5)
        _ = ring.read(into: scratch.bytes.baseAddress!, frames: 3)
        _ = ring.write(from: scratch.source(firstFrame: 5), frames: 2)
        ring.noteOverrun(frames: 1)
        ring.noteUnderrun(frames: 2)

        ring.reset()

        #expect(ring.fillLevel() == 0)
        #expect(ring.readableFrames() == 0)
        #expect(ring.writableFrames() == 5)
        #expect(ring.totalWritten() == 0)
        #expect(ring.totalRead() == 0)
        #expect(ring.overrunFrames() == 0)
        #expect(ring.underrunFrames() == 0)
        let region = ring.acquireWrite(maxFrames: 5)
        #expect(region.first.baseAddress == base)
        #expect(region.firstFrames == 5 && region.secondFrames == 0)
    }
}
