import AudioGraph
import Foundation
import Synchronization
import Testing

/// An API call's waits share one budget (``CallDeadline``), so that several
/// slow answers, each within its own limit, cannot add up past 2 s.
@Suite("An API call's waits share one deadline")
struct CallDeadlineTests {
    @Test("outside a call a limit is what was asked; inside, it is cut to what is left, and the nearer of two nested deadlines wins")
    func limitsAreCut() {
        #expect(CallDeadline.limit(1_000_000_000) == 1_000_000_000)
        CallDeadline.within(300_000_000) {
            #expect(CallDeadline.limit(1_000_000_000) <= 300_000_000)
            #expect(CallDeadline.limit(1_000_000) == 1_000_000)
            CallDeadline.within(5_000_000_000) {
                #expect(CallDeadline.limit(1_000_000_000) <= 300_000_000, "an inner call extended the outer deadline")
            }
            usleep(350_000)
            #expect(CallDeadline.limit(1_000_000_000) == 0)
        }
        #expect(CallDeadline.limit(1_000_000_000) == 1_000_000_000)
    }

    @Test("the deadline belongs to the thread that set it")
    func deadlineIsPerThread() {
        CallDeadline.within(1_000_000) {
            usleep(5_000)
            let elsewhere = Atomic<UInt64>(0)
            let done = DispatchSemaphore(value: 0)
            Thread {
                elsewhere.store(CallDeadline.limit(7), ordering: .releasing)
                done.signal()
            }.start()
            done.wait()
            let seen = elsewhere.load(ordering: .acquiring)
            #expect(seen == 7)
            #expect(CallDeadline.limit(7) == 0)
        }
    }
}
