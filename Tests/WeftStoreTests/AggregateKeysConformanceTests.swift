import Foundation
import Testing
import WeftCore

/// Listing aggregate keys by prefix, for every `Store`: what the entitlement clock walks to find every billing
/// customer, one page at a time.
@Suite("Store conformance: aggregate keys")
struct AggregateKeysConformanceTests {
    typealias F = Fixture

    /// Stores an aggregate under each key (one event each, claimed and committed with an aggregate).
    static func seed(_ store: any Store, keys: [String]) async throws {
        let events = keys.enumerated().map { index, key in F.event("seed-\(index)", key: key) }
        _ = try await store.append(events)
        var committed = 0
        while committed < keys.count {
            let claimed = try await store.claimEvents(limit: 100, owner: "w", lease: .seconds(60), now: F.t0)
            try #require(!claimed.isEmpty)
            let done = try await store.commitProcessed(
                claimed.map { F.processed($0, aggregate: F.aggregate(name: $0.entityKey.rawValue), version: 0) }, owner: "w",
                now: F.t0)
            committed += done.count
        }
    }

    /// Walks every page of `prefix`.
    static func walk(_ store: any Store, prefix: String, limit: Int) async throws -> (keys: [String], pages: Int) {
        var keys: [String] = []
        var pages = 0
        var after: EntityKey?
        while true {
            let page = try await store.aggregateKeys(prefix: prefix, after: after, limit: limit)
            #expect(page.count <= limit)
            guard let last = page.last else { return (keys, pages) }
            pages += 1
            keys += page.map(\.rawValue)
            after = last
        }
    }

    @Test(arguments: StoreFactory.all)
    func pagesListEveryKeyWithThePrefixOnceInOrder(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        let customers = (0..<23).map { String(format: "stripe/customer/cus_%02d", $0) }
        // Neighbours of the range on both sides, another system, another kind of the same system.
        let others = [
            "stripe/customer", "stripe/customeR/x", "stripe/customer0", "stripe/charge/ch_1", "stripe/customers/cus_1",
            "chargebee/customer/cus_01", "stripe/invoice/in_1", "stripf/customer/cus_1",
        ]
        try await Self.seed(store, keys: customers + others)

        let walked = try await Self.walk(store, prefix: "stripe/customer/", limit: 5)
        #expect(walked.keys == customers)
        #expect(walked.pages == 5)
        // A page of exactly the remaining keys is followed by an empty one.
        let first = try await store.aggregateKeys(prefix: "stripe/customer/", after: nil, limit: 23)
        #expect(first.count == 23)
        #expect(try await store.aggregateKeys(prefix: "stripe/customer/", after: first.last, limit: 23).isEmpty)
        // Other prefixes see only theirs.
        #expect(try await Self.walk(store, prefix: "chargebee/customer/", limit: 500).keys == ["chargebee/customer/cus_01"])
        #expect(try await Self.walk(store, prefix: "hubspot/customer/", limit: 500).keys.isEmpty)
        #expect(try await store.aggregateKeys(prefix: "stripe/customer/", after: nil, limit: 0).isEmpty)
    }

    /// `_` and `%` are `LIKE` wildcards: in ids and prefixes they must match only themselves.
    @Test(arguments: StoreFactory.all)
    func underscoresAndPercentSignsInIdsAndPrefixesAreLiteral(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        let keys = [
            "stripe/customer/cus_a", "stripe/customer/cus%b", "stripe/customer/cusXc", "stripe/customer/cus%%",
            "stripe/customer/cus_", "stripe/customer/100%_off", "stripe/customer/ü-ñ", "stripe/customer/🙂",
        ]
        try await Self.seed(store, keys: keys)

        #expect(Set(try await Self.walk(store, prefix: "stripe/customer/", limit: 3).keys) == Set(keys))
        #expect(
            Set(try await Self.walk(store, prefix: "stripe/customer/cus_", limit: 1).keys) == [
                "stripe/customer/cus_a", "stripe/customer/cus_",
            ])
        #expect(
            Set(try await Self.walk(store, prefix: "stripe/customer/cus%", limit: 1).keys) == [
                "stripe/customer/cus%b", "stripe/customer/cus%%",
            ])
        #expect(try await Self.walk(store, prefix: "stripe/customer/100%_", limit: 2).keys == ["stripe/customer/100%_off"])
        #expect(try await Self.walk(store, prefix: "stripe/customer/%", limit: 10).keys.isEmpty)
        #expect(try await Self.walk(store, prefix: "stripe/customer/_", limit: 10).keys.isEmpty)
    }

    /// A page continues from where `after` sorts, whether or not `after` is stored (its aggregate may be gone).
    @Test(arguments: StoreFactory.all)
    func aPageContinuesAfterAKeyThatIsNotStored(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await Self.seed(store, keys: ["stripe/customer/a", "stripe/customer/c", "stripe/customer/e"])
        let page = try await store.aggregateKeys(prefix: "stripe/customer/", after: EntityKey("stripe/customer/b"), limit: 10)
        #expect(page.map(\.rawValue) == ["stripe/customer/c", "stripe/customer/e"])
        // An `after` before the prefix starts at the prefix; one past it ends the walk.
        let before = try await store.aggregateKeys(prefix: "stripe/customer/", after: EntityKey("chargebee/customer/z"), limit: 10)
        #expect(before.map(\.rawValue) == ["stripe/customer/a", "stripe/customer/c", "stripe/customer/e"])
        #expect(try await store.aggregateKeys(prefix: "stripe/customer/", after: EntityKey("stripe/customer0"), limit: 10).isEmpty)
    }
}
