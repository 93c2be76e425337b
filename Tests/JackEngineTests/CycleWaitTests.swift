import Foundation
@testable import JackEngine
import Realtime
import Testing

/// Waits for the cycles in flight are bounded on the clock: a VM's `usleep`
/// oversleeps (a 1 ms sleep took up to 14 ms here), so a bound counted in
/// sleeps stretched a "2 s" wait several times over (issue 14's chaos test:
/// releases of audio clients over 2 s).
@Suite("Waits for cycles in flight end on time")
struct CycleWaitTests {
    @Test("behind cycles that never come, the wait gives up at its timeout, measured on the clock")
    func waitEndsAtItsTimeout() {
        let graph = RealtimeBox(ProcessGraph())
        let start = ContinuousClock.now
        let finished = graph.pointer.pointee.waitForCyclesInFlight(timeoutMilliseconds: 300, isRunning: { true })
        let waited = ContinuousClock.now - start
        #expect(!finished)
        #expect(waited >= .milliseconds(300) && waited < .milliseconds(420), "waited \(waited) for 300 ms")
    }
}
