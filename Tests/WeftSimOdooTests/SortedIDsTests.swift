import Testing

@testable import WeftSimOdoo

/// A table's ids stay ascending and complete whatever order they are inserted and removed in, across chunk boundaries
/// (appends fill chunks of 1,024; inserts in the middle split a chunk past 2,048).
@Suite("Odoo simulator: sorted ids")
struct SortedIDsTests {
    @Test func staysSortedAndCompleteAcrossChunks() {
        var ids = SortedIDs()
        var expected: Set<Int64> = []
        // Appends past several chunks, then inserts into the middle of the first chunk until it splits.
        for id in stride(from: Int64(10), through: 30_000, by: 10) {
            ids.insert(id)
            expected.insert(id)
        }
        for id in stride(from: Int64(1), through: 9_000, by: 3) where id % 10 != 0 {
            ids.insert(id)
            expected.insert(id)
        }
        ids.insert(20)  // already there: not twice
        #expect(ids.all == expected.sorted())
        #expect(ids.count == expected.count)
        #expect(ids.last == 30_000)
        for id in stride(from: Int64(1), through: 30_000, by: 7) {
            ids.remove(id)
            expected.remove(id)
        }
        ids.remove(999_999)
        #expect(ids.all == expected.sorted())
        for id in expected { ids.remove(id) }
        #expect(ids.all.isEmpty)
        #expect(ids.last == nil)
        ids.insert(5)
        #expect(ids.all == [5])
    }
}
