import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftStoreSQLite

@testable import WeftServer

/// The entitlement cache and the pipeline's commits: a store shows a commit to every reader before the cache has
/// derived it, so between the two a lookup must not answer from memory, and what a lookup derived from the store
/// before the commit must not replace what the commit left.
@Suite("Entitlement cache across commits")
struct EntitlementCacheCommitTests {
    static let key = EntityKey("stripe/customer/cus_1")
    static let account = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")

    static func entry(version: Int64) -> EntitlementCache.Entry {
        EntitlementCache.entry(
            account: account, stored: StoredAggregate(aggregate: Aggregate(), version: version), rules: EntitlementRules(),
            now: Date())
    }

    @Test func anAnnouncedKeyIsNeitherAnsweredNorKeptUntilItsCommitEnds() {
        let cache = EntitlementCache(trustsLocalCommits: true)
        cache.store(Self.entry(version: 1), for: Self.key)
        #expect(cache.entry(Self.key)?.version == 1)
        cache.willCommit([Self.key])
        #expect(cache.entry(Self.key) == nil)
        // A lookup meanwhile reads the store; what it derives is not kept (it may be older than the commit).
        cache.store(Self.entry(version: 1), for: Self.key)
        cache.committed(
            [(Self.key, StoredAggregate(aggregate: Aggregate(), version: 2))], billingSystems: ["stripe"], rules: EntitlementRules())
        #expect(cache.entry(Self.key) == nil)
        cache.didCommit([Self.key])
        #expect(cache.entry(Self.key)?.version == 2)
    }

    @Test func aLookupThatReadTheStoreBeforeACommitDoesNotReplaceIt() {
        let cache = EntitlementCache(trustsLocalCommits: true)
        cache.committed(
            [(Self.key, StoredAggregate(aggregate: Aggregate(), version: 2))], billingSystems: ["stripe"], rules: EntitlementRules())
        cache.store(Self.entry(version: 1), for: Self.key)
        #expect(cache.entry(Self.key)?.version == 2)
        // The same version derived again (a grace period ran out since) replaces it.
        cache.store(Self.entry(version: 2), for: Self.key)
        #expect(cache.entry(Self.key)?.version == 2)
        cache.store(Self.entry(version: 3), for: Self.key)
        #expect(cache.entry(Self.key)?.version == 3)
    }

    @Test func overlappingCommitsOfOneKeyHideItUntilBothEnd() {
        let cache = EntitlementCache(trustsLocalCommits: true)
        cache.willCommit([Self.key])
        cache.willCommit([Self.key])
        cache.didCommit([Self.key])
        cache.store(Self.entry(version: 4), for: Self.key)
        #expect(cache.entry(Self.key) == nil)
        cache.didCommit([Self.key])
        cache.store(Self.entry(version: 4), for: Self.key)
        #expect(cache.entry(Self.key)?.version == 4)
    }

    /// Over a real store: right after the store commits a customer's new state, before the pipeline derives it, the
    /// cache answers nothing from memory for that customer (its old entry would be out of date); afterwards it holds
    /// the new state's entitlement.
    @Test func rightAfterAPipelineCommitTheOldEntryIsNotAnswered() async throws {
        let cache = EntitlementCache(trustsLocalCommits: true)
        var store = InterceptingAppendStore.passing(base: try SQLiteStore.temporary(logger: Logger(label: "test.store")))
        let keys = try await PipelineRunTests.backlog(store, prefix: "C")
        let customer = keys[0]
        cache.store(
            EntitlementCache.entry(
                account: try #require(customer.customerRef), stored: StoredAggregate(aggregate: Aggregate(), version: 0),
                rules: EntitlementRules(), now: Date()),
            for: customer)
        let answeredFromMemory = Mutex<[Bool]>([])
        store.afterCommit = { answeredFromMemory.withLock { $0.append(cache.entry(customer) != nil) } }
        let service = PipelineService(
            store: store,
            processor: PipelineRunTests.stripeToOdoo(),
            configuration: PipelineConfiguration(eventsPerEntity: 8), events: Doorbell(), commands: Doorbell(), nodeID: "test",
            logger: Logger(label: "test.pipeline"),
            commits: CommitObserver(
                willCommit: { cache.willCommit($0) },
                didCommit: { changed, announced in
                    cache.committed(changed, billingSystems: ["stripe"], rules: EntitlementRules())
                    cache.didCommit(announced)
                }))
        #expect(try await service.runOnce(owner: "w") == 4)
        #expect(answeredFromMemory.withLock { $0 } == [false])
        #expect(cache.entry(customer)?.version == 3)
    }
}
