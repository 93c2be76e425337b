import Foundation
import Synchronization

/// Runs each body on a thread of its own and returns when all have finished.
///
/// Dedicated threads (not the test's task pool) so that spinning producers and
/// consumers really run at the same time as each other.
func runOnThreads(_ bodies: [@Sendable () -> Void]) {
    let group = DispatchGroup()
    for body in bodies {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// Collects mismatches of a table-driven test, so that thousands of cases cost
/// one `#expect` and a failure lists the first few cases that broke.
struct Mismatches {
    private(set) var descriptions: [String] = []

    mutating func check<Value: Equatable>(_ actual: Value, _ expected: Value,
                                          _ what: @autoclosure () -> String) {
        if actual != expected {
            descriptions.append("\(what()): got \(actual), expected \(expected)")
        }
    }

    /// The first `limit` mismatches, one a line.
    func summary(limit: Int = 20) -> String {
        descriptions.prefix(limit).joined(separator: "\n")
    }
}

/// A value that test threads share, behind a lock: bookkeeping only, never on
/// a path whose timing matters.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func set(_ newValue: Value) { mutex.withLock { $0 = newValue } }

    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
}

/// A one-way flag between threads: cheap enough to poll in a hot loop.
final class SharedFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .releasing) }

    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
