import Foundation
import Synchronization

/// A process a test holds stopped (SIGSTOP): a jackd that stops answering,
/// or a child that holds a lock. It goes on (SIGCONT) when the test calls
/// ``resume()``, when this is released, and at the latest after
/// `safetySeconds`, from a thread of its own: a test that blocks where a
/// bound is missing then fails on its measurements instead of hanging.
///
/// Thread safety: ``resume()`` from any thread, any number of times.
public final class StoppedProcess: Sendable {
    public let processID: pid_t
    private let resumed = Atomic(false)

    /// Stops `processID` unless `alreadyStopped` (it stopped itself).
    public init(_ processID: pid_t, alreadyStopped: Bool = false, safetySeconds: Double = 8) {
        self.processID = processID
        if !alreadyStopped { kill(processID, SIGSTOP) }
        let deadline = Date().addingTimeInterval(safetySeconds)
        Thread { [weak self] in
            while Date() < deadline {
                guard let self, !self.resumed.load(ordering: .acquiring) else { return }
                usleep(100_000)
            }
            kill(processID, SIGCONT)
        }.start()
    }

    /// Lets the process go on.
    public func resume() {
        resumed.store(true, ordering: .releasing)
        kill(processID, SIGCONT)
    }

    deinit { resume() }
}
