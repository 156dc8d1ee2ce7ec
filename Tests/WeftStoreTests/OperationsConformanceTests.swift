import Foundation
import Testing
import WeftCore

/// Cursors, stats and the audit log, for every `Store`.
@Suite("Store conformance: operations")
struct OperationsConformanceTests {
    typealias F = Fixture

    @Test(arguments: StoreFactory.all)
    func cursorsAreNamedAndOverwritten(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        #expect(try await store.cursor("stripe.events") == nil)
        try await store.setCursor("stripe.events", to: "evt_1")
        try await store.setCursor("stripe.events", to: "evt_2")
        try await store.setCursor("hubspot.modified", to: "2025-01-01")
        #expect(try await store.cursor("stripe.events") == "evt_2")
        #expect(try await store.cursor("hubspot.modified") == "2025-01-01")
    }

    @Test(arguments: StoreFactory.all)
    func unfinishedWorkIsPendingOrHeldEventsAndUndeliveredCommands(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        #expect(try await store.hasUnfinishedWork() == false)
        // seedCommands takes its event through to done, leaving only the commands.
        try await store.seedCommands([F.command("c1")])
        #expect(try await store.hasUnfinishedWork())
        let claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        #expect(try await store.hasUnfinishedWork())
        try await store.completeCommands(
            [CommandResult(id: claimed[0].id, transition: .dead(failure: F.failure), subject: claimed[0].payload.subject)],
            owner: "d", now: F.t0)
        // A dead letter waits for an operator: it is not unfinished work.
        #expect(try await store.hasUnfinishedWork() == false)
        _ = try await store.append([F.event("e1")])
        #expect(try await store.hasUnfinishedWork())
        let held = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(try await store.hasUnfinishedWork())
        try await store.commitProcessed([F.processed(held[0])], owner: "w", now: F.t0)
        #expect(try await store.hasUnfinishedWork() == false)
    }

    @Test(arguments: StoreFactory.all)
    func statsCountByStatusAndMeasureAges(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        #expect(try await store.stats(now: F.t0) == StoreStats())
        try await store.seedCommands([
            F.command("c1", entity: "k1"), F.command("c2", entity: "k2"), F.command("c3", entity: "k3"),
            F.command("h1", entity: "k1", target: "hubspot"),
        ])
        _ = try await store.append([F.event("e1", key: "x1"), F.event("e2", key: "x2"), F.event("e3", key: "x3")])
        let claimed = try await store.claimCommands(target: "odoo", limit: 2, owner: "d", lease: .seconds(60), now: F.t0)
        try await store.completeCommands(
            [CommandResult(id: claimed[0].id, transition: .dead(failure: F.failure), subject: claimed[0].payload.subject)],
            owner: "d", now: F.t0)
        _ = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)

        let stats = try await store.stats(now: F.at(4))
        #expect(stats.eventsByStatus == [.done: 1, .processing: 1, .pending: 2])
        #expect(stats.oldestPendingEventAge == 4)
        #expect(stats.commandsByTarget["odoo"] == [.dead: 1, .inFlight: 1, .pending: 1])
        #expect(stats.commandsByTarget["hubspot"] == [.pending: 1])
        #expect(stats.oldestPendingCommandAge == ["odoo": 4, "hubspot": 4])
        #expect(stats.deadCommandsByKind == ["upsert_customer": 1])
    }

    @Test(arguments: StoreFactory.all)
    func theAuditLogIsReadNewestFirst(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        #expect(try await store.auditLog(limit: 10).isEmpty)
        for index in 0..<3 {
            try await store.audit(AuditEntry(at: F.at(Double(index)), actor: "ops", action: "config", detail: "v\(index)"))
        }
        let log = try await store.auditLog(limit: 2)
        #expect(
            log == [
                AuditEntry(at: F.at(2), actor: "ops", action: "config", detail: "v2"),
                AuditEntry(at: F.at(1), actor: "ops", action: "config", detail: "v1"),
            ])
    }
}
