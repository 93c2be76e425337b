import Foundation
import JackTestSupport
import Synchronization
import Testing

/// The tests on a live server run on threads of their own (``onTestThreads(_:)``):
/// a task suspended there resumes while CPU-bound tests hold every thread of
/// Swift's cooperative pool.
@Suite("Test harness: threads of their own for live-server tests", .timeLimit(.minutes(15)))
struct TestThreadsTests {
    final class Spinners: Sendable {
        let release = Atomic(false), started = Atomic(0), finished = Atomic(0)
    }

    @Test("a pause on the test threads returns while CPU-bound tasks hold the whole cooperative pool")
    func resumesWhileThePoolIsBusy() async throws {
        let spinners = Spinners()
        for _ in 0..<2 * ProcessInfo.processInfo.activeProcessorCount {
            Task.detached {
                spinners.started.add(1, ordering: .relaxed)
                // Bounded: without the test threads nothing would set `release`.
                let deadline = ContinuousClock.now + .seconds(10)
                while !spinners.release.load(ordering: .relaxed) && ContinuousClock.now < deadline {}
                spinners.finished.add(1, ordering: .relaxed)
            }
        }
        let seen = try await onTestThreads { () -> (started: Int, finished: Int) in
            // Other tests may hold the pool first (a CI run of the whole suite
            // on two cores started no spinner within 30 s): wait (120 s at
            // most) until a spinner runs.
            let waitForSpinner = ContinuousClock.now + .seconds(120)
            while spinners.started.load(ordering: .relaxed) == 0 && ContinuousClock.now < waitForSpinner { usleep(1_000) }
            try await pause(for: .milliseconds(300))
            let seen = (spinners.started.load(ordering: .relaxed), spinners.finished.load(ordering: .relaxed))
            spinners.release.store(true, ordering: .relaxed)
            return seen
        }
        #expect(seen.started >= 1, "a spinner held a thread of the pool: \(seen)")
        #expect(seen.finished == 0, "the sleep returned only once the spinners gave up: \(seen)")
    }
}
