import Foundation
@testable import JackEngine
import Synchronization
import Testing

/// ``BoundedLane`` runs calls that may block for long (requests jackd2 holds,
/// metadata calls) with a bounded wait for their callers; what it refuses
/// and drops is covered by ``MetadataAccessTests``, what it owes callers who
/// gave up is covered here.
@Suite("Calls on a bounded lane", .timeLimit(.minutes(15)))
struct BoundedLaneTests {
    static let limit: UInt64 = 200_000_000

    @Test("a call that returns after its caller gave up hands its value to `late`, on the lane")
    func lateValueIsHandedOver() {
        let lane = BoundedLane(label: "test")
        let release = DispatchSemaphore(value: 0)
        let lateValue = Atomic(0)
        let result = lane.perform(limit: Self.limit, { release.wait(); return 5 },
                                  late: { lateValue.store($0, ordering: .releasing) })
        #expect(result == nil)
        release.signal()
        for _ in 0..<200 where lateValue.load(ordering: .acquiring) == 0 { usleep(5_000) }
        let handedOver = lateValue.load(ordering: .acquiring)
        #expect(handedOver == 5)
        #expect(lane.perform(limit: Self.limit, { 6 }, late: { _ in Issue.record("an answered call went to late") }) == 6)
    }

    @Test("a call that must run is queued behind a stuck call and runs once it returns, though its caller gave up")
    func mustRunCallRunsLater() {
        let lane = BoundedLane(label: "test")
        let release = DispatchSemaphore(value: 0)
        _ = lane.perform(limit: Self.limit) { release.wait(); return 0 }
        usleep(50_000)
        #expect(lane.isStuck(after: Self.limit))
        let ran = Atomic(false), refusedRan = Atomic(false)
        let start = ContinuousClock.now
        #expect(lane.perform(limit: Self.limit, runsWhenAbandoned: true) { ran.store(true, ordering: .releasing) } == nil)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(lane.perform(limit: Self.limit) { refusedRan.store(true, ordering: .releasing) } == nil)
        #expect(!lane.drain(waitingAtMost: Self.limit), "drained behind a stuck call")
        release.signal()
        #expect(lane.drain(waitingAtMost: 2_000_000_000))
        let mustRunRan = ran.load(ordering: .acquiring), refusedCallRan = refusedRan.load(ordering: .acquiring)
        #expect(mustRunRan, "the call that must run did not")
        #expect(!refusedCallRan, "a call refused behind a stuck one ran")
    }
}
