import Foundation
import Testing
import WeftCore

/// Outbox behaviour every `Store` must have: head-of-line claims per (target, entity key), retries and dead letters,
/// leases, bindings and replay.
@Suite("Store conformance: outbox")
struct OutboxConformanceTests {
    typealias F = Fixture

    @Test(arguments: StoreFactory.all)
    func commandsAreClaimedHeadOfLinePerTargetAndEntity(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([
            F.command("a1"), F.command("a2"), F.command("b1", entity: "k2"),
            F.command("h1", target: "hubspot"), F.command("h2", target: "hubspot"),
        ])
        let first = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        #expect(first.map(\.idempotencyKey.rawValue) == ["a1", "b1"])
        #expect(first.allSatisfy { $0.attempts == 1 && $0.target == "odoo" })
        // Another target's queue is independent.
        #expect(try await store.claimKeys(target: "hubspot") == ["h1"])
        // While a1 is in flight, a2 waits.
        #expect(try await store.claimKeys().isEmpty)
        try await store.completeCommands(
            [CommandResult(id: first[0].id, transition: .delivered(record: nil, note: nil), subject: first[0].payload.subject)],
            owner: "d", now: F.t0)
        #expect(try await store.claimKeys() == ["a2"])
        #expect(try await store.claimKeys(limit: 0).isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func deadCommandsDoNotBlockAndRetriesWaitUntilDue(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([F.command("a1"), F.command("a2"), F.command("b1", entity: "k2"), F.command("b2", entity: "k2")])
        let first = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        try await store.completeCommands(
            [
                CommandResult(id: first[0].id, transition: .dead(failure: F.failure), subject: first[0].payload.subject),
                CommandResult(
                    id: first[1].id, transition: .retry(at: F.at(30), failure: F.failure), subject: first[1].payload.subject),
            ], owner: "d", now: F.t0)
        // a1 is dead: a2 goes ahead. b1 waits for its retry, and b2 behind it.
        #expect(try await store.claimKeys() == ["a2"])
        #expect(try await store.claimKeys(at: 29.999).isEmpty)
        let retried = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.at(30))
        #expect(retried.map(\.idempotencyKey.rawValue) == ["b1"])
        #expect(retried.first?.attempts == 2)
        let records = try await store.listCommands(filter: CommandFilter(ids: [first[0].id, first[1].id]), limit: 10)
        #expect(records.map(\.status) == [.inFlight, .dead])
        #expect(records.last?.lastError == F.failure.description)
    }

    @Test(arguments: StoreFactory.all)
    func nextCommandDueCountsOnlyClaimableHeads(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        #expect(try await store.nextCommandDue(target: "odoo") == nil)
        try await store.seedCommands([F.command("a1"), F.command("a2"), F.command("b1", entity: "k2")])
        #expect(try await store.nextCommandDue(target: "odoo") == F.t0)
        let claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        try await store.completeCommands(
            [CommandResult(id: claimed[1].id, transition: .retry(at: F.at(90), failure: F.failure), subject: claimed[1].payload.subject)],
            owner: "d", now: F.t0)
        // a2 is due but waits behind a1 in flight (lease until t0 + 60); b1 is due at t0 + 90.
        let due = try #require(try await store.nextCommandDue(target: "odoo"))
        #expect(due > F.at(60) && due <= F.at(60.001))
        try await store.completeCommands(
            [CommandResult(id: claimed[0].id, transition: .delivered(record: nil, note: "ok"), subject: claimed[0].payload.subject)],
            owner: "d", now: F.t0)
        #expect(try await store.nextCommandDue(target: "odoo") == F.t0)
        #expect(try await store.nextCommandDue(target: "hubspot") == nil)
    }

    @Test(arguments: StoreFactory.all)
    func aRenewedLeaseKeepsACommandFromOtherDispatchersOnlyForItsHolder(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([F.command("c1"), F.command("c2", entity: "k2")])
        let held = try await store.claimCommands(target: "odoo", limit: 10, owner: "slow", lease: .seconds(60), now: F.t0)
        #expect(held.count == 2)
        // Only the holder renews; a stranger renews nothing.
        #expect(try await store.renewCommandLeases(held.map(\.id), owner: "stranger", until: F.at(300)) == 0)
        #expect(try await store.renewCommandLeases([held[0].id], owner: "slow", until: F.at(300)) == 1)
        // At +120 s the unrenewed lease has expired, the renewed one holds.
        #expect(try await store.claimKeys(owner: "other", at: 120) == ["c2"])
        #expect(try await store.claimKeys(owner: "other", at: 301).sorted() == ["c1", "c2"])
        // The renewal of a lease lost meanwhile reports it lost.
        #expect(try await store.renewCommandLeases(held.map(\.id), owner: "slow", until: F.at(400)) == 0)
    }

    /// A renewal the dispatcher gave up waiting for (the batch was answered meanwhile) may still be running in the
    /// store while the batch's outcomes are recorded, over the same rows. Both must lock those rows in one order:
    /// PostgreSQL aborted the recording as a deadlock when the renewal locked them in the table's physical order.
    @Test(arguments: StoreFactory.all)
    func aLeaseRenewalRacingTheRecordingOfItsBatchDoesNotDeadlock(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        for round in 0..<20 {
            let name = String(repeating: "n", count: 1_200)
            try await store.seedCommands(
                (0..<60).map { F.command("r\(round)-\($0)", entity: "e\(round)-\($0)", name: name) }, eventID: "round\(round)")
            let held = try await store.claimCommands(target: "odoo", limit: 60, owner: "d", lease: .seconds(60), now: F.t0)
            #expect(held.count == 60)
            // Renewed one by one from the last: each row's new version lands after the others, so the table's physical
            // order runs against the ids.
            for command in held.reversed() {
                #expect(try await store.renewCommandLeases([command.id], owner: "d", until: F.at(120)) == 1)
            }
            let results = held.enumerated().map { index, command in
                CommandResult(
                    id: command.id,
                    transition: index % 3 == 0
                        ? .retry(at: F.at(90), failure: F.failure)
                        : .delivered(record: TargetRecordID(model: "res.partner", id: "\(index)"), note: nil),
                    subject: command.payload.subject)
            }
            async let renewed = store.renewCommandLeases(held.map(\.id), owner: "d", until: F.at(180))
            async let recorded: Void = store.completeCommands(results, owner: "d", now: F.t0)
            try await recorded
            // Either order is fine: before the recording it renews all 60, after it none.
            #expect([0, 60].contains(try await renewed))
            let left = try await store.listCommands(filter: CommandFilter(status: .inFlight), limit: 100)
            #expect(left.isEmpty)
        }
    }

    @Test(arguments: StoreFactory.all)
    func anExpiredCommandLeaseIsReclaimedAndTheOldHolderIsIgnored(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([F.command("a1")])
        let held = try await store.claimCommands(target: "odoo", limit: 10, owner: "crashed", lease: .seconds(10), now: F.t0)
        #expect(try await store.claimKeys(owner: "d2", at: 10).isEmpty)
        let taken = try await store.claimCommands(target: "odoo", limit: 10, owner: "d2", lease: .seconds(10), now: F.at(11))
        #expect(taken.map(\.id) == held.map(\.id))
        #expect(taken.first?.attempts == 2)
        let record = TargetRecordID(model: "res.partner", id: "7")
        try await store.completeCommands(
            [CommandResult(id: held[0].id, transition: .delivered(record: record, note: nil), subject: held[0].payload.subject)],
            owner: "crashed", now: F.at(11))
        try await store.releaseCommands(held.map(\.id), owner: "crashed")
        #expect(try await store.binding(of: held[0].payload.subject, in: "odoo") == nil)
        let listed = try await store.listCommands(filter: CommandFilter(status: .inFlight), limit: 10)
        #expect(listed.map(\.command.id) == held.map(\.id))
        #expect(listed.first?.command.attempts == 2)
    }

    @Test(arguments: StoreFactory.all)
    func releasedCommandsAreClaimableAtOnceWithTheirAttemptGivenBack(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([F.command("a1")])
        let held = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(600), now: F.t0)
        #expect(held.first?.attempts == 1)
        try await store.releaseCommands(held.map(\.id), owner: "d")
        let again = try await store.claimCommands(target: "odoo", limit: 10, owner: "d2", lease: .seconds(60), now: F.t0)
        #expect(again.map(\.id) == held.map(\.id))
        #expect(again.first?.attempts == 1)
        try await store.releaseCommands([], owner: "d")
    }

    @Test(arguments: StoreFactory.all)
    func deliveredCommandsRecordTheirTargetRecordAndBinding(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([F.command("a1"), F.command("a2"), F.command("b1", entity: "k2")])
        let first = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        let record = TargetRecordID(model: "res.partner", id: "42")
        try await store.completeCommands(
            [
                CommandResult(id: first[0].id, transition: .delivered(record: record, note: "created"), subject: first[0].payload.subject),
                CommandResult(id: first[1].id, transition: .delivered(record: nil, note: nil), subject: first[1].payload.subject),
            ], owner: "d", now: F.at(2))
        let subject = first[0].payload.subject
        #expect(try await store.binding(of: subject, in: "odoo") == record)
        #expect(try await store.binding(of: subject, in: "hubspot") == nil)
        #expect(try await store.binding(of: first[1].payload.subject, in: "odoo") == nil)
        // Read backwards: which source record a target record shows (entitlement lookup by a target's id).
        #expect(try await store.boundSources(of: record, in: "odoo") == [subject])
        #expect(try await store.boundSources(of: record, in: "zendesk") == [])
        #expect(try await store.boundSources(of: TargetRecordID(model: "res.partner", id: "43"), in: "odoo") == [])
        let delivered = try await store.listCommands(filter: CommandFilter(ids: [first[0].id]), limit: 10)
        #expect(delivered.first?.status == .delivered)
        #expect(delivered.first?.deliveredAt == F.at(2))
        #expect(delivered.first?.targetRecord == record)
        #expect(delivered.first?.nextAttemptAt == nil)
        // A later delivery about the same record moves the binding.
        let second = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        let moved = TargetRecordID(model: "res.partner", id: "43")
        try await store.completeCommands(
            [CommandResult(id: second[0].id, transition: .delivered(record: moved, note: nil), subject: second[0].payload.subject)],
            owner: "d", now: F.at(3))
        #expect(try await store.binding(of: subject, in: "odoo") == moved)
    }

    @Test(arguments: StoreFactory.all)
    func deadCommandsReplayByIDByKindOrAllWithAudit(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([
            F.command("c1", entity: "k1"), F.command("c2", entity: "k2"), F.invoiceCommand("i3", entity: "k3"),
            F.invoiceCommand("i4", entity: "k4"), F.command("h5", entity: "k5", target: "hubspot"),
        ])
        var claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        claimed += try await store.claimCommands(target: "hubspot", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
        #expect(claimed.count == 5)
        try await store.completeCommands(
            claimed.map { CommandResult(id: $0.id, transition: .dead(failure: F.failure), subject: $0.payload.subject) },
            owner: "d", now: F.t0)
        let byKey = Dictionary(uniqueKeysWithValues: claimed.map { ($0.idempotencyKey.rawValue, $0.id) })
        let stats = try await store.stats(now: F.t0)
        #expect(stats.deadCommandsByKind == ["upsert_customer": 3, "upsert_invoice": 2])

        #expect(try await store.replayDeadCommands(filter: CommandFilter(kind: "nope"), actor: "ops", now: F.at(1)).replayed == 0)
        #expect(try await store.replayDeadCommands(filter: CommandFilter(ids: [byKey["c2"]!]), actor: "alice", now: F.at(1)).replayed == 1)
        #expect(try await store.claimKeys(at: 1) == ["c2"])
        #expect(try await store.replayDeadCommands(filter: CommandFilter(kind: "upsert_invoice"), actor: "bob", now: F.at(2)).replayed == 2)
        let invoices = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.at(2))
        #expect(invoices.map(\.idempotencyKey.rawValue) == ["i3", "i4"])
        #expect(invoices.allSatisfy { $0.attempts == 1 })
        // Replay all: only what is still dead (c1 on odoo, h5 on hubspot), not the in-flight ones.
        #expect(try await store.replayDeadCommands(filter: CommandFilter(), actor: "carol", now: F.at(3)).replayed == 2)
        #expect(try await store.claimKeys(at: 3) == ["c1"])
        #expect(try await store.claimKeys(target: "hubspot", at: 3) == ["h5"])
        #expect(try await store.listCommands(filter: CommandFilter(status: .dead), limit: 10).isEmpty)

        let audit = try await store.auditLog(limit: 10)
        #expect(audit.map(\.actor) == ["carol", "bob", "alice", "ops"])
        #expect(audit.allSatisfy { $0.action == "replay_dead_commands" })
        #expect(audit[0].detail.hasPrefix("2 command") && audit[0].detail.hasSuffix("all"))
        #expect(audit[1].detail.contains("kind=upsert_invoice"))
        #expect(audit[2].detail.contains("ids=\(byKey["c2"]!)"))
        #expect(audit[3].detail.hasPrefix("0 command"))
        #expect(audit[0].at == F.at(3))
    }

    /// A replayed dead command waits while a later command of its entity is in flight (one at a time per entity),
    /// and one that a later command of the same record supersedes (`<target>|<key>|<count>`) is not replayed at all:
    /// it would bring back an older state over the one delivered since.
    @Test(arguments: StoreFactory.all)
    func aReplayNeitherOvertakesNorUndoesLaterCommandsOfItsEntity(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([
            F.command("odoo|customer|cus_1|1"), F.invoiceCommand("odoo|invoice|in_1|1"),
            F.command("odoo|customer|cus_1|2"), F.command("plain-key"),
        ])
        func complete(_ command: OutboxCommand, _ transition: CommandTransition) async throws {
            try await store.completeCommands(
                [CommandResult(id: command.id, transition: transition, subject: command.payload.subject)], owner: "d",
                now: F.t0)
        }
        func claimOne(at seconds: TimeInterval = 0) async throws -> OutboxCommand? {
            let claimed = try await store.claimCommands(
                target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.at(seconds))
            return claimed.first
        }
        // The customer's first version and the invoice die; the second version goes ahead and is delivered; the
        // plain-keyed command is in flight when the replay comes.
        let first = try #require(try await claimOne())
        try await complete(first, .dead(failure: F.failure))
        let invoice = try #require(try await claimOne())
        try await complete(invoice, .dead(failure: F.failure))
        let second = try #require(try await claimOne())
        #expect(second.idempotencyKey.rawValue == "odoo|customer|cus_1|2")
        try await complete(second, .delivered(record: nil, note: nil))
        let plain = try #require(try await claimOne())
        #expect(plain.idempotencyKey.rawValue == "plain-key")

        #expect(
            try await store.replayDeadCommands(filter: CommandFilter(), actor: "ops", now: F.at(1))
                == DeadLetterReplay(replayed: 1, superseded: 1))
        // Set aside: no longer a dead letter (nor counted as one), listed as superseded, saying why.
        let left = try await store.listCommands(filter: CommandFilter(ids: [first.id]), limit: 1)
        #expect(left.first?.status == .superseded)
        #expect(left.first?.lastError == "\(F.failure.description); \(OutboxSQL.supersededMessage)")
        #expect(try await store.listCommands(filter: CommandFilter(status: .dead), limit: 10).isEmpty)
        #expect(try await store.listCommands(filter: CommandFilter(status: .superseded), limit: 10).map(\.command.id) == [first.id])
        let stats = try await store.stats(now: F.at(1))
        #expect(stats.commandsByTarget["odoo"]?[.superseded] == 1)
        #expect(stats.commandsByTarget["odoo"]?[.dead] == nil)
        #expect(stats.deadCommandsByKind.isEmpty)
        #expect(try await store.auditLog(limit: 2).last?.detail.contains("1 superseded") == true)
        // Replayed again (it is no longer dead), nothing changes, and it says why once.
        #expect(
            try await store.replayDeadCommands(filter: CommandFilter(ids: [first.id]), actor: "ops", now: F.at(1))
                == DeadLetterReplay(replayed: 0, superseded: 0))
        let again = try await store.listCommands(filter: CommandFilter(ids: [first.id]), limit: 1).first
        #expect(again?.status == .superseded)
        #expect(again?.lastError == "\(F.failure.description); \(OutboxSQL.supersededMessage)")
        // The invoice is pending again, behind the plain-keyed command still in flight.
        #expect(try await store.claimKeys(at: 1).isEmpty)
        try await complete(plain, .delivered(record: nil, note: nil))
        #expect(try await store.claimKeys(at: 1) == ["odoo|invoice|in_1|1"])
    }

    @Test(arguments: StoreFactory.all)
    func listCommandsFiltersNewestFirst(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        try await store.seedCommands([
            F.command("c1", entity: "k1"), F.invoiceCommand("i2", entity: "k1"), F.command("c3", entity: "k2"),
            F.command("h4", entity: "k1", target: "hubspot"),
        ])
        let all = try await store.listCommands(filter: CommandFilter(), limit: 10)
        #expect(all.map(\.command.idempotencyKey.rawValue) == ["h4", "c3", "i2", "c1"])
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 2).count == 2)
        func keys(_ filter: CommandFilter) async throws -> [String] {
            try await store.listCommands(filter: filter, limit: 10).map(\.command.idempotencyKey.rawValue)
        }
        #expect(try await keys(CommandFilter(target: "odoo")) == ["c3", "i2", "c1"])
        #expect(try await keys(CommandFilter(kind: "upsert_invoice")) == ["i2"])
        #expect(try await keys(CommandFilter(entityKey: EntityKey("k1"))) == ["h4", "i2", "c1"])
        #expect(try await keys(CommandFilter(target: "odoo", entityKey: EntityKey("k1"))) == ["i2", "c1"])
        #expect(try await keys(CommandFilter(ids: [])).isEmpty)
        #expect(try await keys(CommandFilter(status: .pending)).count == 4)
        #expect(try await keys(CommandFilter(status: .delivered)).isEmpty)
    }

    /// A command whose payload this version cannot read (left by a newer Weft, or damaged) goes dead when claimed,
    /// rather than blocking its entity, and stays visible: listed as stored with its kind, so an operator sees every
    /// dead command; only the typed listing leaves it out.
    @Test(arguments: StoreFactory.all)
    func aCommandThisVersionCannotReadGoesDeadAndIsListed(_ factory: StoreFactory) async throws {
        let under = try await factory.make()
        let store = under.store
        try await store.seedCommands([F.command("c1", entity: "k1"), F.command("c2", entity: "k1")])
        try await under.execute("UPDATE commands SET payload = '{\"noSuchCommand\":{}}' WHERE idempotency_key = 'c1'")
        let claimed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: Date())
        #expect(claimed.isEmpty)
        let next = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: Date())
        #expect(next.map(\.idempotencyKey.rawValue) == ["c2"], "the unreadable command must not block its entity")

        let dead = try await store.listStoredCommands(filter: CommandFilter(status: .dead), limit: 10)
        #expect(dead.map(\.idempotencyKey.rawValue) == ["c1"])
        #expect(dead.first?.kind == "upsert_customer")
        #expect(dead.first?.lastError?.contains("unreadable") == true)
        #expect(dead.first?.command() == nil)
        #expect(try await store.listCommands(filter: CommandFilter(status: .dead), limit: 10).isEmpty)
        #expect(try await store.listStoredCommands(filter: CommandFilter(), limit: 10).count == 2)
    }
}
