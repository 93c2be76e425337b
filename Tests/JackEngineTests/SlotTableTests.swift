@testable import JackEngine
import Testing

/// The process callback's slot table: the chaos test's crash (a freed stream
/// slot reached by JACK's process thread) was an index reused while its
/// previous slot was still being withdrawn, so the withdrawer then freed the
/// newcomer.
@Suite("Slot table (no server)", .timeLimit(.minutes(15)))
struct SlotTableTests {
    @Test("an index being withdrawn is not given to another slot until it is released")
    func withdrawnIndexStaysTaken() throws {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { slots.deallocate() }
        let table = SlotTable(capacity: 2)
        // (Each result is taken out first: the macros cannot capture a ~Copyable table.)
        let published = table.publish(UnsafeMutableRawPointer(slots))
        let a = try #require(published)
        table.withdraw(at: a)
        let withdrawn = table.entry(at: a)
        #expect(withdrawn == nil, "the process thread no longer sees the withdrawn slot")
        let republished = table.publish(UnsafeMutableRawPointer(slots + 1))
        let b = try #require(republished)
        #expect(b != a, "published at the index still being withdrawn")
        let overflow = table.publish(UnsafeMutableRawPointer(slots + 2))
        #expect(overflow == nil, "both indices are taken: the table is full")
        table.release(at: a)
        let reused = table.publish(UnsafeMutableRawPointer(slots + 2))
        let c = try #require(reused)
        #expect(c == a, "a released index is used again")
        let entry = table.entry(at: c), end = table.end()
        #expect(entry == UnsafeMutableRawPointer(slots + 2))
        #expect(end == 2)
    }
}
