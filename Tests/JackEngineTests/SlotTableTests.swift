@testable import JackEngine
import Testing

/// The process callback's slot table: the chaos test's crash (a freed stream
/// slot reached by JACK's process thread) was an index reused while its
/// previous slot was still being withdrawn, so the withdrawer then freed the
/// newcomer. And the table has no fixed size: a full one grows.
@Suite("Slot table (no server)", .timeLimit(.minutes(15)))
struct SlotTableTests {
    @Test("an index being withdrawn is not given to another slot until it is released")
    func withdrawnIndexStaysTaken() throws {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { slots.deallocate() }
        let table = SlotTable(initialCapacity: 2)
        // (Each result is taken out first: the macros cannot capture a ~Copyable table.)
        let a = table.publish(UnsafeMutableRawPointer(slots)).index
        table.withdraw(at: a)
        let withdrawn = table.current().pointee.entry(at: a)
        #expect(withdrawn == nil, "the process thread no longer sees the withdrawn slot")
        let b = table.publish(UnsafeMutableRawPointer(slots + 1)).index
        #expect(b != a, "published at the index still being withdrawn")
        table.release(at: a)
        let c = table.publish(UnsafeMutableRawPointer(slots + 2)).index
        #expect(c == a, "a released index is used again")
        let entry = table.current().pointee.entry(at: c), end = table.current().pointee.end()
        #expect(entry == UnsafeMutableRawPointer(slots + 2))
        #expect(end == 2)
    }

    @Test("a full table grows: entries keep their indices, a withdrawn index stays taken, the old table is handed back")
    func fullTableGrows() throws {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { slots.deallocate() }
        let table = SlotTable(initialCapacity: 2)
        let first = table.publish(UnsafeMutableRawPointer(slots))
        let second = table.publish(UnsafeMutableRawPointer(slots + 1))
        #expect(first.retired == nil && second.retired == nil, "room for two")
        table.withdraw(at: first.index)
        let before = table.current()
        let third = table.publish(UnsafeMutableRawPointer(slots + 2))
        let retired = try #require(third.retired, "the full table was replaced")
        #expect(retired == before, "the table the process thread walked until now")
        SlotTable.free(retired)
        #expect(third.index == 2 && table.capacity == 4)
        let now = table.current()
        #expect(now.pointee.entry(at: first.index) == nil, "the withdrawn entry stays clear")
        #expect(now.pointee.entry(at: second.index) == UnsafeMutableRawPointer(slots + 1), "entries keep their index")
        #expect(now.pointee.entry(at: 2) == UnsafeMutableRawPointer(slots + 2))
        #expect(now.pointee.end() == 3)
        let fourth = table.publish(UnsafeMutableRawPointer(slots + 3))
        #expect(fourth.index == 3 && fourth.retired == nil, "index \(first.index) is still being withdrawn")
    }
}
