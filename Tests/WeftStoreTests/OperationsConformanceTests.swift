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

    /// Done events and delivered or superseded commands are counted by the writers (triggers), not by scanning the
    /// history. Whatever moves a row into or out of those statuses (a commit, a delivery, a replay, retention) must
    /// leave the statistics equal to a count of the rows.
    @Test(arguments: StoreFactory.all)
    func statsAgreeWithTheRowsAfterEveryKindOfChange(_ factory: StoreFactory) async throws {
        let underTest = try await factory.make()
        let store = underTest.store
        var step = "empty"
        func check() async throws {
            let stats = try await store.stats(now: F.at(1))
            let events = try await underTest.counts("SELECT CAST(status AS TEXT), count(*) FROM events GROUP BY status")
            let commands = try await underTest.counts(
                "SELECT target || '/' || CAST(status AS TEXT), count(*) FROM commands GROUP BY target, status")
            var reported: [String: Int] = [:]
            for (status, count) in stats.eventsByStatus { reported["\(status.rawValue)"] = count }
            #expect(reported == events, "events after \(step)")
            reported = [:]
            for (target, counts) in stats.commandsByTarget {
                for (status, count) in counts { reported["\(target)/\(status.rawValue)"] = count }
            }
            #expect(reported == commands, "commands after \(step)")
        }
        try await check()
        step = "seeding commands of two targets"
        try await store.seedCommands([
            F.command("odoo|customer|cus_1|1"), F.command("odoo|customer|cus_1|2"),
            F.command("odoo|customer|cus_2|1", entity: "k2"), F.command("hubspot|account|a_1|1", target: "hubspot"),
        ])
        try await check()
        step = "deliveries, a retry and a dead letter"
        func finishNext(_ target: SystemName, _ transition: CommandTransition) async throws {
            let claimed = try await store.claimCommands(target: target, limit: 1, owner: "d", lease: .seconds(60), now: F.t0)
            guard let command = claimed.first else {
                Issue.record("nothing of \(target) to claim after \(step)")
                return
            }
            try await store.completeCommands(
                [CommandResult(id: command.id, transition: transition, subject: command.payload.subject)], owner: "d",
                now: F.t0)
        }
        try await finishNext("odoo", .dead(failure: F.failure))
        try await finishNext("odoo", .delivered(record: nil, note: nil))
        try await finishNext("odoo", .retry(at: F.t0, failure: F.failure))
        try await finishNext("odoo", .delivered(record: nil, note: nil))
        try await finishNext("hubspot", .delivered(record: nil, note: nil))
        try await check()
        step = "a replay that sets a superseded dead letter aside"
        #expect(
            try await store.replayDeadCommands(filter: CommandFilter(), actor: "ops", now: F.at(1))
                == DeadLetterReplay(replayed: 0, superseded: 1))
        try await check()
        step = "events done, failed and replayed"
        _ = try await store.append([F.event("e1", key: "a"), F.event("e2", key: "b"), F.event("e3", key: "c")])
        let claimed = try await store.claimEvents(limit: 2, owner: "w", lease: .seconds(60), now: F.t0)
        try await store.commitProcessed(
            [F.processed(claimed[0]), F.processed(claimed[1], status: .failed, outcome: "failed: test")], owner: "w", now: F.t0)
        try await check()
        #expect(try await store.replayFailedEvents(seqs: nil, actor: "ops", now: F.at(1)) == 1)
        try await check()
        step = "retention"
        #expect(try await store.prune(before: F.at(60), limit: 1) == PruneCounts(events: 1, commands: 1))
        try await check()
        #expect(try await store.prune(before: F.at(60), limit: 10) == PruneCounts(events: 1, commands: 2))
        try await check()
        // Every hubspot command is gone: the target is still listed, at zero, so its gauges come down to zero.
        let stats = try await store.stats(now: F.at(1))
        #expect(stats.commandsByTarget["hubspot"] == [:])
        #expect(stats.commandsByTarget["odoo"] == [.superseded: 1])
        #expect(stats.eventsByStatus == [.pending: 2])
    }

    /// A database an older Weft wrote has no counts yet: the migration counts what is there once.
    @Test(arguments: StoreFactory.all)
    func theMigrationCountsTheRowsAnOlderWeftLeft(_ factory: StoreFactory) async throws {
        let underTest = try await factory.make()
        let store = underTest.store
        for statement in underTest.undoTerminalCounts.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
            try await underTest.execute(String(statement))
        }
        try await store.seedCommands([F.command("c1"), F.command("c2", entity: "k2"), F.command("h1", target: "hubspot")])
        let claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        try await store.completeCommands(
            claimed.map { CommandResult(id: $0.id, transition: .delivered(record: nil, note: nil), subject: $0.payload.subject) },
            owner: "d", now: F.t0)
        _ = try await store.append([F.event("e1", key: "a")])

        let reopened = try await underTest.reopen()
        let stats = try await reopened.stats(now: F.at(1))
        #expect(stats.eventsByStatus == [.done: 1, .pending: 1])
        #expect(stats.commandsByTarget == ["odoo": [.delivered: 2], "hubspot": [.pending: 1]])
        // And from then on the triggers keep them.
        let held = try await reopened.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        try await reopened.commitProcessed([F.processed(held[0])], owner: "w", now: F.t0)
        #expect(try await reopened.stats(now: F.at(1)).eventsByStatus == [.done: 2])
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
