import Foundation
import JackTestSupport
import Realtime
import Synchronization
import Testing

/// A stress frame is two words: a sequence number and a value derived from it,
/// so that a frame torn between two writes is caught as well as a lost,
/// repeated or reordered one.
private let wordsPerFrame = 2

private func checkWord(_ sequence: UInt64) -> UInt64 { sequence &* 0x9E37_79B9_7F4A_7C15 ^ 0xA5A5 }

/// Stores frames `first...` into `bytes`.
private func storeFrames(_ bytes: UnsafeMutableRawBufferPointer, first: UInt64) {
    let words = bytes.bindMemory(to: UInt64.self)
    for frame in 0..<words.count / wordsPerFrame {
        let sequence = first + UInt64(frame)
        words[frame * wordsPerFrame] = sequence
        words[frame * wordsPerFrame + 1] = checkWord(sequence)
    }
}

/// What the consumer saw; shared with the test thread.
private final class StressReport: Sendable {
    let framesChecked = Atomic<UInt64>(0)
    let badFrames = Atomic<UInt64>(0)
    let firstBadFrame = Mutex<String?>(nil)
}

/// Checks that `bytes` hold frames `expected...`, counting each frame that does
/// not; returns the sequence number expected after them.
private func verifyFrames(_ bytes: UnsafeRawBufferPointer, expected: UInt64, report: StressReport) -> UInt64 {
    let words = bytes.bindMemory(to: UInt64.self)
    var next = expected
    for frame in 0..<words.count / wordsPerFrame {
        let sequence = words[frame * wordsPerFrame]
        let check = words[frame * wordsPerFrame + 1]
        if sequence != next || check != checkWord(next) {
            report.badFrames.add(1, ordering: .relaxed)
            report.firstBadFrame.withLock {
                if $0 == nil { $0 = "expected frame \(next), found \(sequence) with check word \(check)" }
            }
        }
        // Keep counting frames, so that a broken ring still ends the test.
        next += 1
    }
    return next
}

@Suite("FrameRing under two threads", .timeLimit(.minutes(15)))
struct FrameRingStressTests {
    /// Frames moved from the producer thread to the consumer thread.
    static let totalFrames: UInt64 = 10_000_000
    /// Not a power of two, and small, so that most requests meet a wrap or a full/empty ring.
    static let capacity = 1021
    static let maxChunk = 700

    @Test("10^7 frames arrive once each and in order, with random chunks through both APIs")
    func producerConsumer() {
        let box = RealtimeBox(FrameRing(capacity: Self.capacity, bytesPerFrame: wordsPerFrame * 8))
        let report = StressReport()

        let producer: @Sendable () -> Void = {
            let ring = box.pointer
            var random = SeededGenerator(seed: 1)
            let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.maxChunk * wordsPerFrame * 8,
                                                                 alignment: 16)
            defer { staging.deallocate() }
            var next: UInt64 = 0
            while next < Self.totalFrames {
                let chunk = Int(min(UInt64(Int.random(in: 1...Self.maxChunk, using: &random)),
                                    Self.totalFrames - next))
                var moved = 0
                if Bool.random(using: &random) {
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: staging[0..<chunk * wordsPerFrame * 8])
                    storeFrames(bytes, first: next)
                    moved = ring.pointee.write(from: bytes.baseAddress!, frames: chunk)
                } else {
                    let region = ring.pointee.acquireWrite(maxFrames: chunk)
                    storeFrames(region.first, first: next)
                    storeFrames(region.second, first: next + UInt64(region.firstFrames))
                    // Sometimes publish fewer frames than were filled; the rest are offered again.
                    moved = region.frames() > 1 && Bool.random(using: &random)
                        ? region.frames() / 2 : region.frames()
                    ring.pointee.commitWrite(moved)
                }
                next += UInt64(moved)
                if moved == 0 { sched_yield() }
            }
        }

        let consumer: @Sendable () -> Void = {
            let ring = box.pointer
            var random = SeededGenerator(seed: 2)
            let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.maxChunk * wordsPerFrame * 8,
                                                                 alignment: 16)
            defer { staging.deallocate() }
            var expected: UInt64 = 0
            while expected < Self.totalFrames {
                let chunk = Int.random(in: 1...Self.maxChunk, using: &random)
                var moved = 0
                if Bool.random(using: &random) {
                    moved = ring.pointee.read(into: staging.baseAddress!, frames: chunk)
                    let bytes = UnsafeRawBufferPointer(rebasing: staging[0..<moved * wordsPerFrame * 8])
                    expected = verifyFrames(bytes, expected: expected, report: report)
                } else {
                    let region = ring.pointee.acquireRead(maxFrames: chunk)
                    // Sometimes consume only part of the region; the rest is read again next time.
                    moved = region.frames() > 1 && Bool.random(using: &random)
                        ? region.frames() / 2 : region.frames()
                    let fromFirst = min(moved, region.firstFrames) * wordsPerFrame * 8
                    let fromSecond = moved * wordsPerFrame * 8 - fromFirst
                    expected = verifyFrames(UnsafeRawBufferPointer(rebasing: region.first[0..<fromFirst]),
                                            expected: expected, report: report)
                    expected = verifyFrames(UnsafeRawBufferPointer(rebasing: region.second[0..<fromSecond]),
                                            expected: expected, report: report)
                    ring.pointee.commitRead(moved)
                }
                if moved == 0 { sched_yield() }
            }
            report.framesChecked.store(expected, ordering: .relaxed)
        }

        runOnThreads([producer, consumer])

        #expect(report.framesChecked.load(ordering: .relaxed) == Self.totalFrames)
        #expect(report.badFrames.load(ordering: .relaxed) == 0,
                "\(report.firstBadFrame.withLock { $0 ?? "" })")
        #expect(box.pointer.pointee.totalWritten() == Self.totalFrames)
        #expect(box.pointer.pointee.totalRead() == Self.totalFrames)
        #expect(box.pointer.pointee.fillLevel() == 0)
    }
}
