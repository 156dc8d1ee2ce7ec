import Testing
import WeftCore

@testable import WeftRuntime

@Suite("Aggregate cache")
struct AggregateCacheTests {
    func entry(_ version: Int64) -> StoredAggregate { StoredAggregate(aggregate: Aggregate(), version: version) }

    @Test func keepsTheLatestAndEvictsTheOldestBeyondCapacity() {
        let cache = AggregateCache(capacity: 3)
        for index in 0..<3 { cache.store(entry(1), for: EntityKey("k\(index)")) }
        cache.store(entry(2), for: EntityKey("k0"))
        #expect(cache.entries(for: [EntityKey("k0")])[EntityKey("k0")]?.version == 2)
        // Over capacity: the first key stored goes first, even though it was updated since.
        cache.store(entry(1), for: EntityKey("k3"))
        #expect(cache.count == 3)
        let all = (0..<4).map { EntityKey("k\($0)") }
        #expect(Set(cache.entries(for: all).keys) == [EntityKey("k1"), EntityKey("k2"), EntityKey("k3")])
        cache.forget([EntityKey("k3")])
        #expect(cache.entries(for: [EntityKey("k3")]).isEmpty)
        // Many more keys than the capacity: the bound holds.
        for index in 0..<1_000 { cache.store(entry(1), for: EntityKey("m\(index)")) }
        #expect(cache.count == 3)
        #expect(cache.entries(for: [EntityKey("m999")]).count == 1)
        #expect(AggregateCache(capacity: 0).count == 0)
    }

    /// A key forgotten and stored again is the newest entry, not evicted at the place it first had.
    @Test func aKeyForgottenAndStoredAgainIsNew() {
        let cache = AggregateCache(capacity: 2)
        cache.store(entry(1), for: EntityKey("a"))
        cache.store(entry(1), for: EntityKey("b"))
        cache.forget([EntityKey("a")])
        cache.store(entry(2), for: EntityKey("a"))
        cache.store(entry(1), for: EntityKey("c"))
        #expect(Set(cache.entries(for: ["a", "b", "c"].map { EntityKey($0) }).keys) == [EntityKey("a"), EntityKey("c")])
        // The order keeps its bound as keys come and go.
        for round in 0..<500 {
            cache.forget([EntityKey("a")])
            cache.store(entry(Int64(round)), for: EntityKey("a"))
        }
        #expect(cache.count == 2)
        #expect(cache.orderLength <= 2 * 2 + 64)
        #expect(cache.entries(for: [EntityKey("a")])[EntityKey("a")]?.version == 499)
    }

    func aggregate(records count: Int) -> StoredAggregate {
        var aggregate = Aggregate()
        for index in 0..<count { aggregate.records["stripe/invoice/in_\(index)"] = RecordState() }
        return StoredAggregate(aggregate: aggregate, version: 1)
    }

    /// Customers with long histories weigh what they hold: the cache keeps fewer of them, never more records than its
    /// bound, and one bigger than the whole bound not at all.
    @Test func isBoundedByTheRecordsItHolds() {
        let cache = AggregateCache(capacity: 100, records: 50)
        for index in 0..<3 { cache.store(aggregate(records: 20), for: EntityKey("k\(index)")) }
        #expect(cache.count == 2 && cache.records == 40)
        #expect(Set(cache.entries(for: (0..<3).map { EntityKey("k\($0)") }).keys) == [EntityKey("k1"), EntityKey("k2")])
        // An entry that grows is weighed again.
        cache.store(aggregate(records: 30), for: EntityKey("k2"))
        #expect(cache.count == 2 && cache.records == 50)
        cache.store(aggregate(records: 31), for: EntityKey("k2"))
        #expect(cache.count == 1 && cache.records == 31)
        cache.forget([EntityKey("k2")])
        #expect(cache.count == 0 && cache.records == 0)
        cache.store(aggregate(records: 51), for: EntityKey("huge"))
        #expect(cache.count == 0 && cache.records == 0)
        // Small ones are counted as one record at least.
        for index in 0..<60 { cache.store(aggregate(records: 0), for: EntityKey("e\(index)")) }
        #expect(cache.count == 50 && cache.records == 50)
    }

    /// The pipeline's cache (`pipeline.cache_records`): the default number of aggregates under the records bound given;
    /// 0 keeps nothing at all.
    @Test func thePipelinesCacheKeepsWhatItsRecordBoundAllows() {
        let none = AggregateCache(records: 0)
        none.store(aggregate(records: 0), for: EntityKey("a"))
        #expect(none.count == 0 && none.entries(for: [EntityKey("a")]).isEmpty)
        let bounded = AggregateCache(records: 3)
        #expect(bounded.capacity == AggregateCache.defaultCapacity && bounded.recordCapacity == 3)
        for index in 0..<5 { bounded.store(aggregate(records: 1), for: EntityKey("k\(index)")) }
        #expect(bounded.count == 3 && bounded.records == 3)
    }
}
