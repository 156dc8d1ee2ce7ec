import Testing
import WeftCore
import WeftRuntime

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
}
