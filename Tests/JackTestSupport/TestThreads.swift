import Foundation

/// Runs `body`, and every task it awaits or starts, on threads of its own
/// instead of Swift's cooperative pool.
///
/// Swift Testing runs test bodies on the cooperative pool, one thread per core
/// (two on the CI machine). The CPU-bound tests (the format fuzzers, the
/// resampler and dither measurements) hold those threads for seconds at a
/// time, and a suspended test resumes only when one comes free: once, a
/// `Task.sleep(500 ms)` between a stream's start and stop returned 14 s later,
/// and the 50 ms loopback buffer the test drained had overflowed. The tests
/// on a live server (``withJackLibrary(_:)``, ``withPipeWireServer(sampleRate:quantum:_:)``)
/// measure streams in real time, so they run here.
///
/// A `Task.sleep` there would still wait for the pool: its timer resumes the
/// task through the pool's queue. The tests sleep with ``pause(for:)``.
public func onTestThreads<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
    try await withTaskExecutorPreference(TestThreads.shared) { try await body() }
}

/// Sleeps for `duration`: on the test threads by blocking the thread (one of
/// their own, see ``onTestThreads(_:)``), elsewhere as `Task.sleep`.
public func pause(for duration: Duration) async throws {
    if TestThreads.isCurrent {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        try Task.checkCancellation()
    } else {
        try await Task.sleep(for: duration)
    }
}

/// A task executor that starts a thread whenever every one of its threads is
/// busy (a test may block a thread waiting for a child process or an event),
/// so a job never waits behind a blocked one. Threads stay for the process's
/// life: at most as many as jobs ever ran at once.
final class TestThreads: TaskExecutor, @unchecked Sendable {
    static let shared = TestThreads()

    /// Whether the calling thread is one of these.
    static var isCurrent: Bool { Thread.current.threadDictionary[marker] != nil }
    private static let marker = "wasapi-jack.test-thread"

    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    /// Threads waiting for a job; guarded by `condition`.
    private var waiting = 0

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        // A woken thread counts as waiting until it runs: start another for
        // every job beyond the ones they will take.
        if jobs.count > waiting { startThread() }
        condition.signal()
        condition.unlock()
    }

    private func startThread() {
        let thread = Thread { [self] in
            Thread.current.threadDictionary[Self.marker] = true
            work()
        }
        thread.stackSize = 8 << 20  // as the main thread's: test bodies recurse through the runtime
        thread.name = "test-thread"
        thread.start()
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        condition.lock()
        while true {
            while jobs.isEmpty {
                waiting += 1
                condition.wait()
                waiting -= 1
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: executor)
            condition.lock()
        }
    }
}
