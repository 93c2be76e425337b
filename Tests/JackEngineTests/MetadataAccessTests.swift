import Foundation
@testable import JackEngine
import Synchronization
import Testing

/// jackd2's metadata database can block a call for good (locks of a process
/// that died inside it); ``MetadataAccess`` bounds the wait (issue 14: the
/// jackd chaos test hung in `jack_get_property` and `jack_get_all_properties`).
@Suite("Metadata calls wait a bounded time", .timeLimit(.minutes(15)))
struct MetadataAccessTests {
    static let limit: UInt64 = 200_000_000

    /// A call that blocks until `release` is signalled.
    final class Blocker: Sendable {
        let release = DispatchSemaphore(value: 0)
        let entered = Atomic(false)
        func body() -> Int {
            entered.store(true, ordering: .releasing)
            release.wait()
            return 1
        }
    }

    @Test("a call's result comes back")
    func resultComesBack() {
        let access = MetadataAccess(limitNanoseconds: Self.limit)
        #expect(access.perform { 42 } == 42)
    }

    @Test("a blocked call gives up at the limit; later calls give up at once without running, until it returns")
    func blockedCallIsBounded() {
        let access = MetadataAccess(limitNanoseconds: Self.limit)
        let blocker = Blocker()
        let start = ContinuousClock.now
        #expect(access.perform { blocker.body() } == nil)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(200) && waited < .seconds(5))
        usleep(50_000)  // now running longer than the limit: stuck
        #expect(access.isStuck)
        let ran = Atomic(0)
        let quick = ContinuousClock.now
        #expect(access.perform { ran.add(1, ordering: .relaxed).newValue } == nil)
        #expect(ContinuousClock.now - quick < .milliseconds(100), "a call behind a stuck one must not wait")
        blocker.release.signal()
        for _ in 0..<200 where access.isStuck { usleep(5_000) }
        #expect(access.perform { 7 } == 7)
        let runs = ran.load(ordering: .relaxed)
        #expect(runs == 0, "the refused call ran")
    }

    @Test("a caller's wait counts the time it queued: behind a slow call that finishes, it still gives up at its limit")
    func queuedTimeCounts() {
        let access = MetadataAccess(limitNanoseconds: Self.limit)
        let ahead = Blocker()
        Thread { _ = access.perform { ahead.body() } }.start()
        while !ahead.entered.load(ordering: .acquiring) { usleep(1_000) }
        let mine = Blocker()
        let answer = Atomic(-1)  // -1: no answer yet; 0: nil; else the value
        let caller = Thread { answer.store(access.perform { mine.body() } ?? 0, ordering: .releasing) }
        caller.start()
        // The call ahead finishes before it counts as stuck (150 of 200 ms);
        // this caller's own call then runs past the caller's 200 ms.
        usleep(150_000)
        ahead.release.signal()
        usleep(150_000)
        mine.release.signal()
        for _ in 0..<500 where answer.load(ordering: .acquiring) == -1 { usleep(2_000) }
        let value = answer.load(ordering: .acquiring)
        #expect(value == 0, "the caller waited past its limit for a value (\(value))")
    }

    @Test("a call queued behind a blocked one, given up by its caller, never runs")
    func abandonedCallNeverRuns() {
        let access = MetadataAccess(limitNanoseconds: Self.limit)
        let blocker = Blocker()
        let first = Thread { _ = access.perform { blocker.body() } }
        first.start()
        while !blocker.entered.load(ordering: .acquiring) { usleep(1_000) }
        let ran = Atomic(false)
        #expect(access.perform { ran.store(true, ordering: .releasing) } == nil)  // queued, then given up
        blocker.release.signal()
        usleep(100_000)
        let didRun = ran.load(ordering: .acquiring)
        #expect(!didRun)
    }

    @Test("at exit, the running call may finish and no new one starts")
    func exitDrains() {
        let access = MetadataAccess(limitNanoseconds: 2_000_000_000)
        let blocker = Blocker()
        let caller = Thread { _ = access.perform { blocker.body() } }
        caller.start()
        while !blocker.entered.load(ordering: .acquiring) { usleep(1_000) }
        let drained = Atomic(false)
        Thread {
            access.drainForExit()
            drained.store(true, ordering: .releasing)
        }.start()
        usleep(100_000)
        let early = drained.load(ordering: .acquiring)
        #expect(!early, "the drain returned with a call inside the database")
        blocker.release.signal()
        for _ in 0..<200 where !drained.load(ordering: .acquiring) { usleep(5_000) }
        let done = drained.load(ordering: .acquiring)
        #expect(done)
        #expect(access.perform { 3 } == nil, "no call starts after the drain")
    }
}
