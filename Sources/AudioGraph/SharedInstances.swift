import Synchronization

/// Objects made on first use and shared while anyone holds them: the table
/// keeps them weakly, so the last holder's release ends them, and the next
/// request makes a new one.
///
/// Thread safety: any thread; `make` runs under the table's lock, so two
/// callers never make two objects for one key.
package final class SharedInstances<Key: Hashable & Sendable, Value: AnyObject & Sendable>: @unchecked Sendable {
    private struct Entry: @unchecked Sendable { weak var value: Value? }
    private let entries = Mutex<[Key: Entry]>([:])

    package init() {}

    /// The live object for `key` that `reuse` accepts, or a new one from `make`.
    package func value<Failure: Error>(for key: Key, reuse: (Value) -> Bool = { _ in true },
                                       make: () throws(Failure) -> Value) throws(Failure) -> Value {
        let result = entries.withLock { entries -> Result<Value, Failure> in
            if let value = entries[key]?.value, reuse(value) { return .success(value) }
            do throws(Failure) {
                let value = try make()
                entries[key] = Entry(value: value)
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Makes `value` the object for `key` too, unless a live one is there.
    package func insertIfAbsent(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries[key]?.value == nil { entries[key] = Entry(value: value) }
        }
    }
}
