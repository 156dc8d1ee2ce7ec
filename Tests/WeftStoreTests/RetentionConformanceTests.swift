import Foundation
import Testing
import WeftCore

/// Retention, for every `Store`: finished history older than the cutoff goes, in bounded batches; what an operator
/// still needs stays.
@Suite("Store conformance: retention")
struct RetentionConformanceTests {
    typealias F = Fixture

    @Test(arguments: StoreFactory.all)
    func pruneDeletesOnlyFinishedHistoryOlderThanTheCutoffInBatches(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        // Three events processed at t0 (one failed), each writing a command; one event still pending.
        _ = try await store.append([F.event("e1", key: "a"), F.event("e2", key: "b"), F.event("e3", key: "c")])
        let claimed = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(claimed.count == 3)
        var results: [ProcessedEvent] = []
        for event in claimed {
            var result = F.processed(event, commands: [F.command("cmd-\(event.eventID.rawValue)", entity: event.entityKey.rawValue)])
            if event.eventID.rawValue == "e3" {
                result.status = .failed
                result.outcome = "failed: test"
                result.commands = []
            }
            results.append(result)
        }
        #expect(try await store.commitProcessed(results, owner: "w", now: F.t0).count == 3)
        _ = try await store.append([F.event("e4", key: "d")])
        // Deliver cmd-e1, kill cmd-e2.
        let commands = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        #expect(commands.count == 2)
        try await store.completeCommands(
            commands.map { command in
                CommandResult(
                    id: command.id,
                    transition: command.idempotencyKey.rawValue == "cmd-e1"
                        ? .delivered(record: TargetRecordID(model: "res.partner", id: "7"), note: nil)
                        : .dead(failure: DeliveryFailure(kind: .rejected, message: "no")),
                    subject: ExternalRef(system: "stripe", kind: .customer, id: command.entityKey.rawValue))
            }, owner: "d", now: F.t0)

        // Nothing is older than a cutoff at t0.
        #expect(try await store.prune(before: F.t0, limit: 10) == PruneCounts())
        // One row of each kind per call with limit 1.
        #expect(try await store.prune(before: F.at(60), limit: 1) == PruneCounts(events: 1, commands: 1))
        #expect(try await store.prune(before: F.at(60), limit: 1) == PruneCounts(events: 1, commands: 0))
        #expect(try await store.prune(before: F.at(60), limit: 1) == PruneCounts())

        // Left: the failed event, the pending one, the dead command; the binding of the delivered command.
        let events = try await store.listEvents(status: nil, limit: 10).map(\.eventID.rawValue).sorted()
        #expect(events == ["e3", "e4"])
        let left = try await store.listCommands(filter: CommandFilter(), limit: 10)
        #expect(left.map(\.command.idempotencyKey.rawValue) == ["cmd-e2"])
        #expect(left.first?.status == .dead)
        #expect(
            try await store.binding(of: ExternalRef(system: "stripe", kind: .customer, id: "a"), in: "odoo")
                == TargetRecordID(model: "res.partner", id: "7"))
        // A redelivery of a pruned event is stored again (retention must outlast the sender's redelivery window).
        #expect(try await store.append([F.event("e1", key: "a")]).first != .duplicate)
    }

    /// A delivered command that supersedes a dead one of the same record (`<target>|<key>|<count>`) outlives the
    /// cutoff while that one is dead: pruned, it would leave the dead one looking replayable, and a replay would put
    /// its older state back over the delivered one. Once a replay has set the dead one aside, it goes.
    @Test(arguments: StoreFactory.all)
    func pruneKeepsWhatSupersedesADeadCommandUntilAReplaySetsThatAside(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([
            F.command("odoo|customer|cus_1|1"), F.command("odoo|customer|cus_1|2"), F.command("odoo|customer|cus_2|1"),
        ])
        // One at a time (one entity): the first version dies, the second and the other record's are delivered.
        func deliverNext(_ transition: CommandTransition) async throws -> OutboxCommand? {
            let claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
            guard let command = claimed.first else { return nil }
            try await store.completeCommands(
                [CommandResult(id: command.id, transition: transition, subject: command.payload.subject)], owner: "d",
                now: F.t0)
            return command
        }
        let first = try #require(try await deliverNext(.dead(failure: F.failure)))
        let second = try #require(try await deliverNext(.delivered(record: nil, note: nil)))
        let other = try #require(try await deliverNext(.delivered(record: nil, note: nil)))
        #expect(
            [first, second, other].map(\.idempotencyKey.rawValue)
                == ["odoo|customer|cus_1|1", "odoo|customer|cus_1|2", "odoo|customer|cus_2|1"])

        // The other record's command goes; the second version stays, so the replay still finds the first superseded.
        #expect(try await store.prune(before: F.at(60), limit: 10) == PruneCounts(events: 1, commands: 1))
        #expect(
            try await store.replayDeadCommands(filter: CommandFilter(), actor: "ops", now: F.at(1))
                == DeadLetterReplay(replayed: 0, superseded: 1))
        #expect(try await store.claimKeys(at: 1).isEmpty)
        // Set aside, the first no longer holds the second back; the first itself is kept, as dead letters are.
        #expect(try await store.prune(before: F.at(60), limit: 10) == PruneCounts(events: 0, commands: 1))
        let left = try await store.listCommands(filter: CommandFilter(), limit: 10)
        #expect(left.map(\.command.id) == [first.id])
        #expect(left.first?.status == .superseded)
    }
}
