import Testing

@testable import WeftSimOdoo

/// The simulator's tables are dictionaries split into groups of buckets; they are values, so a copy must keep its
/// entries whatever is done to the other, in every bucket.
@Suite("Odoo simulator: sharded dictionary")
struct ShardedDictionaryTests {
    @Test func behavesAsADictionaryForIdsAndStrings() {
        var rows = ShardedDictionary<Int64, Int>()
        var names = ShardedDictionary<String, Int64>()
        var expected: [Int64: Int] = [:]
        // Several times the 1,024 buckets, plus ids that share low bits and negative ones.
        for id in Int64(1)...5_000 {
            rows[id] = Int(id) * 2
            expected[id] = Int(id) * 2
        }
        for id: Int64 in [1_024 * 7, 1_024 * 9, -1, -1_025] {
            rows[id] = 7
            expected[id] = 7
        }
        for id in stride(from: Int64(3), through: 5_000, by: 3) {
            #expect(rows.removeValue(forKey: id) == expected.removeValue(forKey: id))
        }
        #expect(rows.removeValue(forKey: 999_999) == nil)
        for id in Int64(-1_100)...5_100 { #expect(rows[id] == expected[id]) }
        rows[4, default: 0] += 1
        rows[6_001, default: 10] += 1
        #expect(rows[4] == 9 && rows[6_001] == 11)

        for index in 0..<3_000 { names["weft.stripe_customer_cus_\(index)"] = Int64(index) }
        #expect(names["weft.stripe_customer_cus_2999"] == 2_999)
        #expect(names["weft.stripe_customer_cus_3000"] == nil)
    }

    @Test func aCopyIsUntouchedByWritesToTheOther() {
        var original = ShardedDictionary<Int64, String>()
        for id in Int64(1)...3_000 { original[id] = "v\(id)" }
        let snapshot = original
        for id in stride(from: Int64(1), through: 3_000, by: 2) { original[id] = "changed" }
        for id in stride(from: Int64(2), through: 3_000, by: 5) { original.removeValue(forKey: id) }
        original[5_000] = "new"
        original.update(4, default: "") { $0 += "+" }
        original.update(6_000, default: "none") { $0 += "+" }
        for id in Int64(1)...3_000 { #expect(snapshot[id] == "v\(id)") }
        #expect(original[4] == "v4+" && original[6_000] == "none+" && snapshot[6_000] == nil)
        #expect(snapshot[5_000] == nil)
        #expect(original[1] == "changed" && original[2] == nil && original[5_000] == "new")
    }
}
