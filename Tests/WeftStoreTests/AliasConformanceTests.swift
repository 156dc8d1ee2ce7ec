import Foundation
import Testing
import WeftCore

/// Provisional keys (`ProcessedEvent.adoptedAliases`): once an entity adopts one, events under it are processed by
/// that entity, whether they arrived before the adoption, during it, or after.
@Suite("Store conformance: aliases")
struct AliasConformanceTests {
    typealias F = Fixture

    static let customer = "stripe/customer/cus_1"
    static let alias = "stripe/invoice/in_1"

    func adopt(_ store: any Store, eventID: String = "adopter", aliases: [String] = [alias]) async throws {
        _ = try await store.append([F.event(eventID, key: Self.customer, occurred: 1)])
        let held = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        let adopter = try #require(held.first { $0.eventID.rawValue == eventID })
        var result = F.processed(adopter, aggregate: F.aggregate(name: "Ada"), version: 0)
        result.adoptedAliases = aliases.map { EntityKey($0) }
        #expect(try await store.commitProcessed([result], owner: "w", now: F.t0) == [adopter.seq])
    }

    @Test(arguments: StoreFactory.all)
    func eventsAlreadyProcessedUnderAnAliasMoveToTheAdopterAndRunAgain(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("early", key: Self.alias, occurred: 0)])
        let stray = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(stray.map(\.eventID.rawValue) == ["early"])
        // Processed on its own before the customer was known: a stray aggregate under the alias.
        try await store.commitProcessed(
            [F.processed(stray[0], aggregate: F.aggregate(name: "stray"), version: 0)], owner: "w", now: F.t0)
        #expect(try await store.loadAggregates([EntityKey(Self.alias)]).count == 1)

        try await adopt(store)
        // The stray aggregate is gone, and the event is pending again under the customer.
        #expect(try await store.loadAggregates([EntityKey(Self.alias)]).isEmpty)
        let again = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(again.map(\.eventID.rawValue) == ["early"])
        #expect(again.first?.entityKey == EntityKey(Self.customer))
        #expect(again.first?.outcome == nil)
    }

    @Test(arguments: StoreFactory.all)
    func eventsArrivingUnderAnAdoptedAliasAreFiledUnderTheAdopter(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await adopt(store)
        _ = try await store.append([F.event("late", key: Self.alias, occurred: 2), F.event("other", key: "stripe/invoice/in_2")])
        let listed = try await store.listEvents(status: .pending, limit: 10)
        #expect(
            Dictionary(uniqueKeysWithValues: listed.map { ($0.eventID.rawValue, $0.entityKey.rawValue) }) == [
                "late": Self.customer, "other": "stripe/invoice/in_2",
            ])
    }

    @Test(arguments: StoreFactory.all)
    func anEventHeldUnderAnAliasWhenItIsAdoptedIsMovedInsteadOfCommitted(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("racing", key: Self.alias, occurred: 0)])
        let held = try await store.claimEvents(limit: 10, owner: "slow", lease: .seconds(60), now: F.t0)
        #expect(held.map(\.eventID.rawValue) == ["racing"])
        try await adopt(store)
        // The slow worker's result would build a stray aggregate: the store moves the event instead.
        let committed = try await store.commitProcessed(
            [F.processed(held[0], commands: [F.command("stray")], aggregate: F.aggregate(name: "stray"), version: 0)],
            owner: "slow", now: F.t0)
        #expect(committed.isEmpty)
        #expect(try await store.loadAggregates([EntityKey(Self.alias)]).isEmpty)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).isEmpty)
        let again = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(again.map(\.eventID.rawValue) == ["racing"])
        #expect(again.first?.entityKey == EntityKey(Self.customer))
    }

    @Test(arguments: StoreFactory.all)
    func theFirstAdopterKeepsAnAlias(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await adopt(store)
        // Another entity claiming the same alias changes nothing.
        _ = try await store.append([F.event("second-adopter", key: "stripe/customer/cus_2", occurred: 1)])
        let held = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        var result = F.processed(try #require(held.first))
        result.adoptedAliases = [EntityKey(Self.alias)]
        try await store.commitProcessed([result], owner: "w", now: F.t0)
        _ = try await store.append([F.event("late", key: Self.alias, occurred: 2)])
        #expect(try await store.listEvents(status: .pending, limit: 10).map(\.entityKey.rawValue) == [Self.customer])
    }
}
